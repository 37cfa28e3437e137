//! A real SMTP server for the email tests (`aiosmtpd`, started per test: set `JOXAI_TEST_PYTHON` to a
//! Python that has it) and what it received, read from its folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::support::{TestApp, spawn_app_with};

pub struct Catcher {
    child: Child,
}

/// A failing test must not leave the server running on its port.
impl Drop for Catcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Catcher {
    pub fn start(port: u16, folder: &Path) -> Catcher {
        let python = std::env::var("JOXAI_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../infra/scripts/smtp_catcher.py"
        );
        let mut child = Command::new(python)
            .args([
                script,
                &port.to_string(),
                folder.to_str().expect("utf-8 path"),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP catcher");
        // It prints one line once it listens.
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
            &mut line,
        )
        .expect("catcher ready");
        assert!(
            line.contains("SMTP catcher"),
            "catcher did not start: {line}"
        );
        Catcher { child }
    }

    pub fn stop(self) {
        drop(self);
    }
}

pub fn received(folder: &Path) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json"))
        .collect()
}

pub fn to(folder: &Path, recipient: &str) -> Vec<Value> {
    received(folder)
        .into_iter()
        .filter(|m| m["to"][0] == recipient)
        .collect()
}

pub fn folder() -> PathBuf {
    let folder = std::env::temp_dir().join(format!("joxai-mail-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&folder).expect("mail folder");
    folder
}

pub async fn app_with_smtp(port: u16) -> TestApp {
    app_with_smtp_and(port, |f| f).await
}

/// [`app_with_smtp`] with more settings (`tweak` runs last, so it may override these).
pub async fn app_with_smtp_and(
    port: u16,
    tweak: impl FnOnce(figment::Figment) -> figment::Figment,
) -> TestApp {
    spawn_app_with(|f| {
        let f = f
            .merge(("smtp.host", "127.0.0.1"))
            .merge(("smtp.port", port))
            .merge(("smtp.tls", "none"))
            .merge(("smtp.timeout_ms", 2_000))
            .merge(("workers.email.retry_min_ms", 100))
            .merge(("workers.email.retry_max_ms", 400))
            .merge(("workers.email.max_deliver", 100))
            .merge(("email.reply_grace_ms", 1_000));
        tweak(f)
    })
    .await
}
