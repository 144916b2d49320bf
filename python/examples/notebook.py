"""The exploration notebook's matrices through every backend by name, as `maxpool demo` does in the shell:
the naive loop, the block reshape, the sliding-window lookup table and the vectorised backend give the same
values, winner indices and multiplier (how many windows each element won: the notebook's np.bincount)."""

import numpy as np

import maxpool

CASES = [
    ("the 4×4 matrix, 2×2 blocks", np.array([[12, 15, 5, 0], [3, 11, 3, 7], [9, 3, 5, 2], [4, 7, 6, 8]]),
     dict(kernel_size=2)),
    # The notebook zero-padded the ragged edge; ceil mode covers it with padding that never wins.
    ("the 5×5 ragged edge, 2×2 blocks",
     np.array([[12, 15, 5, 0, 1], [3, 11, 3, 7, 2], [9, 3, 5, 2, 3], [4, 7, 6, 8, 4], [1, 2, 3, 4, 5]]),
     dict(kernel_size=2, ceil_mode=True)),
    ("the 6×6 sliding window, 3×3 stride 1",
     np.array([[-15, 3, -5, -4, -12, 0], [13, 3, -5, -1, -12, 7], [14, 14, -13, 8, -16, 8],
               [-9, -13, -7, -3, -16, 5], [-16, 0, -6, 10, 0, -4], [14, 6, -12, -5, -8, 15]]),
     dict(kernel_size=3, stride=1)),
]

for title, matrix, params in CASES:
    print(f"== {title}\n{matrix}\n")
    results = {}
    for backend in maxpool.backends()[1:]:
        try:
            results[backend] = maxpool.max_pool2d(matrix, **params, return_indices=True, return_multiplier=True,
                                                  backend=backend)
        except ValueError as e:
            print(f"{backend}: {e}\n")
    first = next(iter(results.values()))
    for r in results.values():
        assert all(np.array_equal(a, b) for a, b in zip(first, r)), "backends disagree"
    values, indices, multiplier = first
    print(f"{', '.join(results)}:")
    print(f"values:\n{values}\nwinner indices:\n{indices}\nmultiplier:\n{multiplier}\n")
