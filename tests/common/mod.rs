//! Shared by the integration tests that need an outside tool.

use std::process::Command;

/// The headless browser used to render HTML reports: Debian's `chromium` (installed by
/// `.ci/run`). None when absent, which fails under CI (`CI` set) rather than skipping.
pub fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium (.ci/run installs it)"
        );
        eprintln!("note: chromium not installed; HTML rendering not checked (.ci/run installs it)");
    }
    found
}
