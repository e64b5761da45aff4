//! Keyfob started from its AppImage. An AppImage has no install step that could declare the
//! `dev.keyfob.app` scheme, so the app registers itself for the current user when it starts
//! from one: a desktop entry in `$XDG_DATA_HOME/applications` (tauri-plugin-deep-link's
//! `register_all`, which also runs update-desktop-database and `xdg-mime default`) whose Exec
//! runs the AppImage's file with the URL. It tells the user when it does, and does it again
//! when the file has moved (the entry would run a path that is gone).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use tauri::{AppHandle, Manager};
use tauri_plugin_deep_link::DeepLinkExt;

use crate::notify;

/// The MIME type the handler entry declares for Keyfob's redirect scheme.
const SCHEME_MIME: &str = "x-scheme-handler/dev.keyfob.app";

/// What to do about the scheme at start-up.
#[derive(Debug, PartialEq, Eq)]
pub enum Registration {
    /// The user's entry already runs this AppImage for the scheme: nothing to do or say.
    UpToDate,
    /// Write the entry and make it the scheme's handler; `moved` when an entry for another
    /// path was there (the user moved or renamed the file).
    Register { moved: bool },
}

/// The AppImage this process was started from: `APPIMAGE` (set by the AppImage runtime to the
/// file's path) only counts when this binary runs inside `APPDIR` (where the runtime mounted or
/// extracted it). Programs started from another AppImage inherit both variables; a Keyfob
/// installed from a package and started that way must not register that other file.
pub fn own_appimage(
    appimage: Option<&OsStr>,
    appdir: Option<&Path>,
    exe: &Path,
) -> Option<PathBuf> {
    let (appimage, appdir) = (appimage?, appdir?);
    (!appimage.is_empty() && exe.starts_with(appdir)).then(|| PathBuf::from(appimage))
}

/// The Exec value that runs `appimage` with the URL, as the deep-link plugin writes it (the
/// path in double quotes, then `%u`). The plugin does not escape, so a path with a character
/// that the desktop entry format gives a meaning inside quotes (or that is not UTF-8) cannot
/// be registered: the error names what to rename.
pub fn handler_exec(appimage: &Path) -> Result<String, String> {
    let Some(path) = appimage.to_str() else {
        return Err(format!(
            "its path is not valid UTF-8 ({})",
            appimage.display()
        ));
    };
    if let Some(c) = path
        .chars()
        .find(|c| matches!(c, '"' | '`' | '$' | '\\' | '%') || c.is_control())
    {
        return Err(format!(
            "its path {path:?} contains {c:?}, which a desktop entry cannot run without escaping"
        ));
    }
    Ok(format!("\"{path}\" %u"))
}

/// Decides from the user's handler entry as it is (its text, if the file exists) whether it
/// must be written for `exec`.
pub fn registration(exec: &str, entry: Option<&str>) -> Registration {
    let Some(entry) = entry else {
        return Registration::Register { moved: false };
    };
    let value = |key: &str| {
        entry
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    };
    let handles_scheme = value("MimeType").is_some_and(|m| m.split(';').any(|t| t == SCHEME_MIME));
    match value("Exec") {
        Some(registered) if registered == exec && handles_scheme => Registration::UpToDate,
        Some(registered) => Registration::Register {
            moved: registered != exec,
        },
        None => Registration::Register { moved: false },
    }
}

/// Registers the scheme for this AppImage when needed and tells the user once per
/// registration. Does nothing outside an AppImage.
pub fn register_scheme(app: &AppHandle) {
    let env = app.env();
    let Ok(exe) = tauri::utils::platform::current_exe() else {
        return;
    };
    let appdir = env.appdir.as_deref().map(Path::new).map(canonical);
    let Some(appimage) = own_appimage(env.appimage.as_deref(), appdir.as_deref(), &exe) else {
        return;
    };
    let exec = match handler_exec(&appimage) {
        Ok(exec) => exec,
        Err(why) => return notify::scheme_not_registered(app, &why),
    };
    let entry = match handler_entry(app, &exe) {
        Ok(entry) => entry,
        Err(e) => return notify::scheme_not_registered(app, &e.to_string()),
    };
    let Registration::Register { moved } =
        registration(&exec, std::fs::read_to_string(&entry).ok().as_deref())
    else {
        return;
    };
    match app.deep_link().register_all() {
        Ok(()) => {
            eprintln!(
                "keyfob: {} now opens dev.keyfob.app links with {}",
                entry.display(),
                appimage.display()
            );
            notify::scheme_registered(app, &appimage, moved);
        }
        Err(e) => notify::scheme_not_registered(app, &e.to_string()),
    }
}

/// The user's handler entry that the deep-link plugin writes: named after the binary, in
/// `$XDG_DATA_HOME/applications`.
fn handler_entry(app: &AppHandle, exe: &Path) -> tauri::Result<PathBuf> {
    let name = exe.file_name().unwrap_or(OsStr::new("keyfob-app"));
    let mut file = name.to_os_string();
    file.push("-handler.desktop");
    Ok(app.path().data_dir()?.join("applications").join(file))
}

/// `/proc/self/exe` is resolved; APPDIR may name the same place through a link (TMPDIR).
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXEC: &str = "\"/home/a/Apps/Keyfob.AppImage\" %u";

    fn entry(exec: &str, mime: &str) -> String {
        format!("[Desktop Entry]\nType=Application\nName=Keyfob\nExec={exec}\nTerminal=false\nMimeType={mime}\nNoDisplay=true\n")
    }

    #[test]
    fn only_the_appimage_this_binary_runs_from_counts() {
        let file = OsStr::new("/home/a/Apps/Keyfob.AppImage");
        let mount = Path::new("/tmp/.mount_KeyfobAb12");
        let inside = Path::new("/tmp/.mount_KeyfobAb12/usr/bin/keyfob-app");
        assert_eq!(
            own_appimage(Some(file), Some(mount), inside),
            Some(PathBuf::from("/home/a/Apps/Keyfob.AppImage"))
        );
        // Started from another AppImage's environment (a terminal AppImage, say): the
        // variables name that other file, and this binary is not inside its mount.
        assert_eq!(
            own_appimage(Some(file), Some(mount), Path::new("/usr/bin/keyfob-app")),
            None
        );
        // A mount whose name only begins like ours is another directory.
        assert_eq!(
            own_appimage(
                Some(file),
                Some(Path::new("/tmp/.mount_Key")),
                Path::new("/tmp/.mount_KeyfobAb12/usr/bin/keyfob-app")
            ),
            None
        );
        assert_eq!(own_appimage(None, Some(mount), inside), None);
        assert_eq!(own_appimage(Some(file), None, inside), None);
        assert_eq!(
            own_appimage(Some(OsStr::new("")), Some(mount), inside),
            None
        );
    }

    #[test]
    fn exec_quotes_the_path_and_passes_the_url() {
        assert_eq!(
            handler_exec(Path::new("/home/a/My Apps/Keyfob.AppImage")).unwrap(),
            "\"/home/a/My Apps/Keyfob.AppImage\" %u"
        );
    }

    #[test]
    fn paths_the_entry_cannot_run_unescaped_are_refused_by_name() {
        for (path, named) in [
            ("/home/a/\"x\"/Keyfob.AppImage", "'\"'"),
            ("/home/a/$HOME/Keyfob.AppImage", "'$'"),
            ("/home/a/`id`/Keyfob.AppImage", "'`'"),
            ("/home/a/back\\slash/Keyfob.AppImage", "'\\\\'"),
            ("/home/a/100%/Keyfob.AppImage", "'%'"),
            ("/home/a/new\nline/Keyfob.AppImage", "'\\n'"),
        ] {
            let why = handler_exec(Path::new(path)).unwrap_err();
            assert!(why.contains(named), "{path:?}: {why}");
        }
        use std::os::unix::ffi::OsStrExt;
        let not_utf8 = Path::new(OsStr::from_bytes(b"/home/a/\xff/Keyfob.AppImage"));
        assert!(handler_exec(not_utf8)
            .unwrap_err()
            .contains("not valid UTF-8"));
    }

    #[test]
    fn registers_once_and_again_after_a_move() {
        let mime = "x-scheme-handler/dev.keyfob.app;";
        assert_eq!(
            registration(EXEC, None),
            Registration::Register { moved: false }
        );
        assert_eq!(
            registration(EXEC, Some(&entry(EXEC, mime))),
            Registration::UpToDate
        );
        let elsewhere = "\"/home/a/Downloads/Keyfob.AppImage\" %u";
        assert_eq!(
            registration(EXEC, Some(&entry(elsewhere, mime))),
            Registration::Register { moved: true }
        );
    }

    #[test]
    fn an_entry_that_lost_the_scheme_or_its_exec_is_written_again() {
        assert_eq!(
            registration(EXEC, Some(&entry(EXEC, "text/plain;"))),
            Registration::Register { moved: false }
        );
        // A longer key that merely begins with "Exec" is not the Exec line.
        let no_exec = "[Desktop Entry]\nExecutable=x\nMimeType=x-scheme-handler/dev.keyfob.app;\n";
        assert_eq!(
            registration(EXEC, Some(no_exec)),
            Registration::Register { moved: false }
        );
        // Other schemes in the list are kept by the plugin and do not matter here.
        assert_eq!(
            registration(
                EXEC,
                Some(&entry(
                    EXEC,
                    "x-scheme-handler/other;x-scheme-handler/dev.keyfob.app;"
                ))
            ),
            Registration::UpToDate
        );
    }
}
