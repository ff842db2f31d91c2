//! The `:` command palette: the commands, their aliases and arguments, and Tab
//! completion of both names and arguments.

/// One palette command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub args: &'static str,
    pub help: &'static str,
}

const fn cmd(
    name: &'static str,
    aliases: &'static [&'static str],
    args: &'static str,
    help: &'static str,
) -> Command {
    Command {
        name,
        aliases,
        args,
        help,
    }
}

pub const COMMANDS: &[Command] = &[
    cmd("containers", &["ps", "c"], "", "show containers"),
    cmd("images", &["img", "i"], "", "show images"),
    cmd("volumes", &["vol", "v"], "", "show volumes"),
    cmd("networks", &["net", "n"], "", "show networks"),
    cmd("events", &["ev", "e"], "", "show live events"),
    cmd("start", &[], "", "start the selected container(s)"),
    cmd("stop", &[], "", "stop the selected container(s)"),
    cmd("restart", &[], "", "restart the selected container(s)"),
    cmd("kill", &[], "", "kill the selected container(s)"),
    cmd("pause", &[], "", "pause the selected container(s)"),
    cmd("unpause", &[], "", "unpause the selected container(s)"),
    cmd(
        "rm",
        &["remove", "delete"],
        "",
        "remove the selection (asks first)",
    ),
    cmd("rename", &[], "NEW_NAME", "rename the selected container"),
    cmd("rmi", &[], "", "remove the selected image(s) (asks first)"),
    cmd("tag", &[], "TARGET[:TAG]", "tag the selected image"),
    cmd(
        "prune",
        &[],
        "",
        "prune unused images or volumes (asks first)",
    ),
    cmd(
        "run",
        &["new"],
        "[IMAGE]",
        "run a container (opens the form)",
    ),
    cmd("volume-create", &["vc"], "[NAME]", "create a volume"),
    cmd("network-create", &["nc"], "NAME", "create a bridge network"),
    cmd("pull", &[], "IMAGE", "pull an image (progress per layer)"),
    cmd(
        "filter",
        &["f"],
        "REGEX",
        "filter the table (! inverts; empty clears)",
    ),
    cmd("sort", &[], "COLUMN", "sort the table by a column"),
    cmd("theme", &[], "NAME", "switch the colour theme"),
    cmd(
        "ctx",
        &["context"],
        "ENDPOINT",
        "manage another engine: embedded, a docker context, unix:// tcp:// ssh://",
    ),
    cmd("help", &["h"], "", "show the key bindings"),
    cmd("quit", &["q", "q!"], "", "leave berth"),
];

/// The command a typed name means (exact name or alias).
pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS
        .iter()
        .find(|c| c.name == name || c.aliases.contains(&name))
}

/// Candidates for what is typed: command names while typing the first word, then
/// the argument's values (`args_for` gives them per command).
pub fn candidates(input: &str, args_for: &dyn Fn(&str) -> Vec<String>) -> Vec<String> {
    match input.split_once(' ') {
        None => COMMANDS
            .iter()
            .filter(|c| c.name.starts_with(input))
            .map(|c| c.name.to_string())
            .collect(),
        Some((name, arg)) => {
            let Some(c) = find(name) else {
                return vec![];
            };
            args_for(c.name)
                .into_iter()
                .filter(|a| a.starts_with(arg.trim_start()))
                .collect()
        }
    }
}

/// What Tab turns `input` into: the one candidate (with a space after a command
/// name), or the longest prefix all candidates share.
pub fn complete(input: &str, candidates: &[String]) -> String {
    let (head, word) = match input.split_once(' ') {
        Some((name, arg)) => (format!("{name} "), arg.trim_start()),
        None => (String::new(), input),
    };
    match candidates {
        [] => input.to_string(),
        [one] => {
            let space = if head.is_empty() && find(one).is_some_and(|c| !c.args.is_empty()) {
                " "
            } else {
                ""
            };
            format!("{head}{one}{space}")
        }
        many => {
            let first = &many[0];
            let mut len = first.len();
            for c in &many[1..] {
                len = len.min(
                    first
                        .char_indices()
                        .zip(c.chars())
                        .take_while(|((_, a), b)| a == b)
                        .map(|((i, a), _)| i + a.len_utf8())
                        .last()
                        .unwrap_or(0),
                );
            }
            let prefix = &first[..len];
            if prefix.len() > word.len() {
                format!("{head}{prefix}")
            } else {
                input.to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_args(_: &str) -> Vec<String> {
        vec![]
    }

    #[test]
    fn completes_names_and_prefixes() {
        let c = candidates("st", &no_args);
        assert_eq!(c, ["start", "stop"]);
        assert_eq!(complete("st", &c), "st");
        let c = candidates("sta", &no_args);
        assert_eq!(complete("sta", &c), "start");
        let c = candidates("re", &no_args);
        assert_eq!(c, ["restart", "rename"]);
        assert_eq!(complete("re", &c), "re");
        let c = candidates("ren", &no_args);
        assert_eq!(complete("ren", &c), "rename ");
        let c = candidates("vo", &no_args);
        assert_eq!(complete("vo", &c), "volume");
    }

    #[test]
    fn completes_arguments() {
        let themes = |c: &str| {
            if c == "theme" {
                vec!["dark".to_string(), "light".to_string()]
            } else {
                vec![]
            }
        };
        let c = candidates("theme l", &themes);
        assert_eq!(c, ["light"]);
        assert_eq!(complete("theme l", &c), "theme light");
        assert!(candidates("nope x", &themes).is_empty());
    }

    #[test]
    fn aliases_resolve() {
        assert_eq!(find("ps").map(|c| c.name), Some("containers"));
        assert_eq!(find("q").map(|c| c.name), Some("quit"));
        assert!(find("bogus").is_none());
    }
}
