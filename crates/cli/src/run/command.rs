//! Which dev server a command starts, and how to tell it the port: every dev server gets `PORT` (and
//! `HOST=127.0.0.1`) in its environment, and the ones that ignore `PORT` get their own flags too. A command is
//! recognised by its words, or for `npm run dev` and the like by the package.json script it runs. A port the
//! command already names (`vite --port 4000`) is kept. The README has the table.

use std::path::Path;

/// A dev server that needs its port (and host) as flags.
#[derive(Debug, PartialEq, Eq)]
pub struct Framework {
    /// Its name, for messages and the README's table.
    pub name: &'static str,
    /// The program's names.
    program: &'static [&'static str],
    /// The subcommand that makes it a dev server (`next dev`); `""` allows none (`vite` alone); empty: anything.
    subcommands: &'static [&'static str],
    /// Flags that take the port, to find one the user gave.
    port_flags: &'static [&'static str],
    /// The arguments that set port `{port}` and host 127.0.0.1.
    flags: &'static [&'static str],
}

/// Every dev server `run` knows the flags of. SvelteKit runs through Vite.
pub const FRAMEWORKS: [Framework; 11] = [
    fw(
        "Vite, SvelteKit",
        &["vite"],
        &["", "dev", "serve"],
        &["--port"],
        &["--port", "{port}", "--strictPort", "--host", "127.0.0.1"],
    ),
    fw("Next.js", &["next"], &["dev"], &["--port", "-p"], &["--port", "{port}", "--hostname", "127.0.0.1"]),
    fw("Astro", &["astro"], &["dev"], &["--port"], &["--port", "{port}", "--host", "127.0.0.1"]),
    fw("Nuxt", &["nuxt", "nuxi"], &["dev"], &["--port", "-p"], &["--port", "{port}", "--host", "127.0.0.1"]),
    fw("Angular CLI", &["ng"], &["serve", "s"], &["--port"], &["--port", "{port}", "--host", "127.0.0.1"]),
    fw("webpack-dev-server", &["webpack-dev-server"], &[], &["--port"], &["--port", "{port}", "--host", "127.0.0.1"]),
    fw("webpack-dev-server", &["webpack"], &["serve"], &["--port"], &["--port", "{port}", "--host", "127.0.0.1"]),
    fw("Rails", &["rails"], &["server", "s"], &["--port", "-p"], &["--port", "{port}", "--binding", "127.0.0.1"]),
    fw("Django", &["manage.py", "django-admin"], &["runserver"], &[], &["127.0.0.1:{port}"]),
    fw("Flask", &["flask"], &["run"], &["--port", "-p"], &["--port", "{port}", "--host", "127.0.0.1"]),
    fw("Hugo", &["hugo"], &["server", "serve"], &["--port", "-p"], &["--port", "{port}", "--bind", "127.0.0.1"]),
];

const fn fw(
    name: &'static str,
    program: &'static [&'static str],
    subcommands: &'static [&'static str],
    port_flags: &'static [&'static str],
    flags: &'static [&'static str],
) -> Framework {
    Framework { name, program, subcommands, port_flags, flags }
}

/// How `run` starts a command.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan<'a> {
    /// The dev server recognised, if any.
    pub framework: Option<&'a Framework>,
    /// The port the command already names, if it does.
    pub port: Option<u16>,
    /// Where the flags go: `npm run dev` needs `--` before them.
    separator: bool,
}

impl Plan<'_> {
    /// Looks at `argv` (run in `dir`, for package.json scripts).
    pub fn of(argv: &[String], dir: &Path) -> Plan<'static> {
        let words: Vec<String> = argv.iter().map(|a| program_name(a)).collect();
        let (tool, separator) = match words.first().map(String::as_str) {
            Some("npm" | "pnpm" | "yarn" | "bun") => match script(&words, dir) {
                Some(body) => (body, words[0] == "npm" && !argv.iter().any(|a| a == "--")),
                None => (words.clone(), false),
            },
            Some("npx" | "pnpx" | "bunx" | "python" | "python3") => (words[1..].to_vec(), false),
            _ => (words.clone(), false),
        };
        let framework = FRAMEWORKS.iter().find(|f| f.starts(&tool));
        let port = framework.and_then(|f| f.given_port(&tool).or_else(|| f.given_port(&words)));
        Plan { framework, port, separator }
    }

    /// `argv` with the flags that set `port` added (none when the command names its port or is not recognised).
    pub fn argv(&self, argv: &[String], port: u16) -> Vec<String> {
        let mut out = argv.to_vec();
        let Some(framework) = self.framework.filter(|_| self.port.is_none()) else { return out };
        if self.separator {
            out.push("--".to_owned());
        }
        out.extend(framework.flags.iter().map(|f| f.replace("{port}", &port.to_string())));
        out
    }
}

impl Framework {
    /// True when `words` start this dev server: the program among the first two words (after `bin/`, `./`), and
    /// the subcommand, if it needs one, right after it.
    fn starts(&self, words: &[String]) -> bool {
        words.iter().take(2).enumerate().any(|(i, w)| {
            let next = words.get(i + 1).map(String::as_str).filter(|n| !n.starts_with('-')).unwrap_or("");
            self.program.contains(&w.as_str()) && (self.subcommands.is_empty() || self.subcommands.contains(&next))
        })
    }

    /// The port `words` already give (`--port 4000`, `--port=4000`, Django's `0.0.0.0:4000`).
    fn given_port(&self, words: &[String]) -> Option<u16> {
        for (i, w) in words.iter().enumerate() {
            for flag in self.port_flags {
                if w == flag {
                    return words.get(i + 1)?.parse().ok();
                }
                if let Some(value) = w.strip_prefix(flag).and_then(|rest| rest.strip_prefix('=')) {
                    return value.parse().ok();
                }
            }
        }
        if self.port_flags.is_empty() {
            let after = words.iter().position(|w| self.subcommands.contains(&w.as_str()))?;
            let addr = words.get(after + 1).filter(|w| !w.starts_with('-'))?;
            return addr.rsplit(':').next()?.parse().ok();
        }
        None
    }
}

/// `./node_modules/.bin/vite` is `vite`; `bin/rails` is `rails`; other words stay as they are.
fn program_name(word: &str) -> String {
    if word.contains('/') && !word.contains('=') && !word.contains(':') {
        word.rsplit('/').next().unwrap_or(word).to_owned()
    } else {
        word.to_owned()
    }
}

/// The words of the package.json script that `npm run dev`, `npm start`, `pnpm dev`, `yarn dev` or `bun run dev`
/// runs.
fn script(words: &[String], dir: &Path) -> Option<Vec<String>> {
    let name = match words.get(1).map(String::as_str) {
        Some("run" | "run-script") => words.get(2)?.as_str(),
        Some(other) => other,
        None => return None,
    };
    let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let body = json.get("scripts")?.get(name)?.as_str()?;
    Some(body.split_whitespace().map(program_name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn planned(line: &str, dir: &Path) -> (Option<&'static str>, Option<u16>, String) {
        let argv = words(line);
        let plan = Plan::of(&argv, dir);
        (plan.framework.map(|f| f.name), plan.port, plan.argv(&argv, 5000).join(" "))
    }

    #[test]
    fn each_dev_server_in_the_table_gets_its_flags() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let cases = [
            ("vite", "vite --port 5000 --strictPort --host 127.0.0.1"),
            ("./node_modules/.bin/vite dev", "./node_modules/.bin/vite dev --port 5000 --strictPort --host 127.0.0.1"),
            ("npx next dev", "npx next dev --port 5000 --hostname 127.0.0.1"),
            ("astro dev", "astro dev --port 5000 --host 127.0.0.1"),
            ("nuxi dev", "nuxi dev --port 5000 --host 127.0.0.1"),
            ("ng serve", "ng serve --port 5000 --host 127.0.0.1"),
            ("webpack serve", "webpack serve --port 5000 --host 127.0.0.1"),
            ("webpack-dev-server", "webpack-dev-server --port 5000 --host 127.0.0.1"),
            ("bin/rails server", "bin/rails server --port 5000 --binding 127.0.0.1"),
            ("python manage.py runserver", "python manage.py runserver 127.0.0.1:5000"),
            ("flask run", "flask run --port 5000 --host 127.0.0.1"),
            ("hugo server", "hugo server --port 5000 --bind 127.0.0.1"),
        ];
        for (line, want) in cases {
            let (framework, port, argv) = planned(line, d);
            assert!(framework.is_some(), "{line} not recognised");
            assert_eq!((port, argv.as_str()), (None, want), "{line}");
        }
        for line in ["node server.js", "next build", "vite build", "rails console", "cargo run"] {
            let (framework, _, argv) = planned(line, d);
            assert_eq!((framework, argv.as_str()), (None, line), "{line}: PORT alone");
        }
    }

    #[test]
    fn a_port_the_command_names_is_kept() {
        let d = tempfile::tempdir().unwrap();
        for (line, port) in [
            ("vite --port 4000", 4000),
            ("vite --port=4001", 4001),
            ("next dev -p 4002", 4002),
            ("python3 manage.py runserver 0.0.0.0:4003", 4003),
        ] {
            let (_, found, argv) = planned(line, d.path());
            assert_eq!((found, argv.as_str()), (Some(port), line), "{line}");
        }
    }

    #[test]
    fn package_manager_scripts_are_looked_up_and_npm_gets_a_separator() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"scripts": {"dev": "vite", "start": "next dev -p 3001", "serve": "node server.js"}}"#,
        )
        .unwrap();
        let d = dir.path();
        assert_eq!(planned("npm run dev", d).2, "npm run dev -- --port 5000 --strictPort --host 127.0.0.1");
        assert_eq!(planned("pnpm dev", d).2, "pnpm dev --port 5000 --strictPort --host 127.0.0.1");
        assert_eq!(planned("yarn dev", d).2, "yarn dev --port 5000 --strictPort --host 127.0.0.1");
        assert_eq!(planned("bun run dev", d).2, "bun run dev --port 5000 --strictPort --host 127.0.0.1");
        assert_eq!(planned("npm start", d).1, Some(3001), "the script names its port");
        assert_eq!(planned("npm run serve", d).0, None);
        assert_eq!(planned("npm run missing", d).0, None);
    }
}
