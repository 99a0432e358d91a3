//! Test cases built from the `ai-dev` example: each test edits its text, writes it to its own folder
//! with a copy of the example pull secret, and loads it.

use std::fs;
use std::path::{Path, PathBuf};

use tether_config::{Checked, Diagnostic, Diagnostics};

/// Returns the repository's `examples` folder.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// One environment file under test, in a fresh folder of its own.
pub struct Case {
    pub dir: PathBuf,
    pub source: String,
}

impl Case {
    /// Starts from `examples/ai-dev.toml`, in a fresh folder named after the test.
    pub fn new(name: &str) -> Case {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tether-config").join(name);
        if dir.exists() {
            fs::remove_dir_all(&dir).expect("remove the previous run's folder");
        }
        fs::create_dir_all(&dir).expect("create the test folder");
        fs::copy(examples_dir().join("pull-secret.example.json"), dir.join("pull-secret.example.json"))
            .expect("copy the example pull secret");
        let source = fs::read_to_string(examples_dir().join("ai-dev.toml")).expect("read the ai-dev example");
        Case { dir, source }
    }

    /// Replaces the one occurrence of `from` with `to`; panics when `from` is missing or repeated, so a
    /// test cannot edit the wrong line.
    pub fn replace(mut self, from: &str, to: &str) -> Case {
        let count = self.source.matches(from).count();
        assert_eq!(count, 1, "expected exactly one {from:?} in the environment file");
        self.source = self.source.replacen(from, to, 1);
        self
    }

    /// Appends `text` at the end of the file.
    pub fn append(mut self, text: &str) -> Case {
        self.source.push_str(text);
        self
    }

    /// Returns the path the environment file is written to.
    pub fn path(&self) -> PathBuf {
        self.dir.join("env.toml")
    }

    /// Writes the file and loads it.
    pub fn load(&self) -> Result<Checked, Diagnostics> {
        fs::write(self.path(), &self.source).expect("write the environment file");
        tether_config::load(&self.path())
    }

    /// Loads the file and returns its diagnostics; panics when it loads cleanly.
    pub fn diagnostics(&self) -> Diagnostics {
        match self.load() {
            Ok(_) => panic!("expected the environment file to fail validation"),
            Err(diagnostics) => diagnostics,
        }
    }

    /// Loads the file and returns its one error, checking that it has `code`. Requiring a single error
    /// also shows that the bad value does not set off unrelated rules.
    pub fn only(&self, code: &str) -> Diagnostic {
        let diagnostics = self.diagnostics();
        let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|entry| entry.is_error()).collect();
        assert_eq!(errors.len(), 1, "expected only {code}, found: {errors:#?}");
        assert_eq!(errors[0].code(), code);
        errors[0].clone()
    }

    /// Returns the text that the diagnostic's primary span covers.
    pub fn text_at(&self, diagnostic: &Diagnostic) -> &str {
        let span = diagnostic.span().expect("the diagnostic has a span");
        &self.source[span]
    }

    /// Returns the text under every label of the diagnostic, primary first.
    pub fn labelled_texts(&self, diagnostic: &Diagnostic) -> Vec<&str> {
        diagnostic.labels().map(|(span, _)| &self.source[span]).collect()
    }
}

/// Returns the help text, panicking when there is none.
pub fn help(diagnostic: &Diagnostic) -> &str {
    diagnostic.help().expect("the diagnostic has help")
}
