//! Every list of backends a user reads names every backend: the README's table and the crate's front page are
//! written by hand, so they are checked against `Backend::ALL` here (the messages, `--help` and the C ABI are
//! made from it, and tested where they are made).

use maxpool::Backend;

#[test]
fn the_readme_table_lists_every_backend() {
    let readme = include_str!("../../../README.md");
    let table = readme
        .split("## Backends")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").nth(1))
        .expect("README.md has a table under '## Backends'");
    let rows = table.lines().filter(|l| l.starts_with("| `")).count();
    assert_eq!(
        rows,
        Backend::ALL.len(),
        "README.md's backends table has {rows} rows, the library {} backends",
        Backend::ALL.len()
    );
    for b in Backend::ALL {
        let long = if b.long_name() == b.name() {
            String::new()
        } else {
            format!("`{}`", b.long_name())
        };
        let row = format!("| `{}` | {long} |", b.name()).replace("|  |", "| |");
        assert!(
            table.contains(&row),
            "README.md's backends table lacks {row:?}"
        );
    }
}

#[test]
fn the_front_page_names_every_backend() {
    let front = include_str!("../src/lib.rs");
    let docs: String = front
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    for b in Backend::CONCRETE {
        assert!(
            docs.contains(&format!("`{}`", b.name())),
            "the crate's front page does not name {b}"
        );
    }
    let count = [
        "", "one", "two", "three", "four", "five", "six", "seven", "eight",
    ][Backend::CONCRETE.len()];
    let capitalised = format!("{}{}", count[..1].to_uppercase(), &count[1..]);
    assert!(
        docs.contains(&format!("{capitalised} backends")),
        "the crate's front page does not say there are {count} backends"
    );
}
