//! Dropping root privileges once the sockets are bound (`user`, `group`, `run_as_root`).
//!
//! The order is the one the daemon follows in [`crate::run`]: the configuration and the keys
//! are read, the listening socket is created with `socket_owner`, `socket_group` and
//! `socket_mode` (and the metrics port bound), then [`drop_privileges`] sets the supplementary
//! groups (the user's, from the group database), the group and the user, through `nix`'s safe
//! wrappers. Every thread of the process changes with it. A daemon started as root without
//! `user` refuses to run unless `run_as_root = true`: it parses mail from anyone.
//!
//! Keys and the configuration read again on SIGHUP are then read as `user`, and the verdict
//! store (`record`) is opened and written as `user`.

use crate::config::Config;
use nix::unistd::{Gid, Group, Uid, User};

/// Who the daemon runs as after [`drop_privileges`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user id.
    pub uid: u32,
    /// The group id.
    pub gid: u32,
    /// What changed, for the log.
    pub note: String,
}

fn user(spec: &str) -> Result<User, String> {
    let found = match spec.parse::<u32>() {
        Ok(n) => User::from_uid(Uid::from_raw(n)),
        Err(_) => User::from_name(spec),
    };
    match found {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(format!("user: no such user {spec:?}")),
        Err(e) => Err(format!("user: cannot look up {spec:?}: {e}")),
    }
}

fn group(spec: &str) -> Result<Gid, String> {
    if let Ok(n) = spec.parse::<u32>() {
        return Ok(Gid::from_raw(n));
    }
    match Group::from_name(spec) {
        Ok(Some(g)) => Ok(g.gid),
        Ok(None) => Err(format!("group: no such group {spec:?}")),
        Err(e) => Err(format!("group: cannot look up {spec:?}: {e}")),
    }
}

/// The uid and gid `user` and `group` name (`None` without `user`), looked up without
/// switching: what `mailstamp milter --check-config` reports.
pub fn target(config: &Config) -> Result<Option<(String, u32, u32)>, String> {
    let Some(spec) = &config.user else {
        return Ok(None);
    };
    let u = user(spec)?;
    let gid = match &config.group {
        Some(g) => group(g)?,
        None => u.gid,
    };
    Ok(Some((u.name, u.uid.as_raw(), gid.as_raw())))
}

/// Switches to `user` (and `group`) when running as root; checks the configuration otherwise.
///
/// * no `user`: as root, refused unless `run_as_root = true`; as anyone else, nothing to do;
/// * `user` set and running as root: supplementary groups (the user's, or only `group` for a
///   numeric user without a name), group, user; then checks root cannot be regained;
/// * `user` set, not root: fine when the daemon already runs as that user and group (e.g.
///   systemd's `User=`), refused otherwise.
pub fn drop_privileges(config: &Config) -> Result<Identity, String> {
    let euid = Uid::effective();
    let Some(spec) = &config.user else {
        if euid.is_root() && !config.run_as_root {
            return Err(
                "refusing to run as root: set user = \"NAME\" (the daemon drops to it \
                        once its socket is bound) or run_as_root = true"
                    .into(),
            );
        }
        return Ok(Identity {
            uid: euid.as_raw(),
            gid: Gid::effective().as_raw(),
            note: if euid.is_root() {
                "running as root (run_as_root = true)".into()
            } else {
                "no user configured: privileges unchanged".into()
            },
        });
    };
    let u = user(spec)?;
    let gid = match &config.group {
        Some(g) => group(g)?,
        None => u.gid,
    };
    if !euid.is_root() {
        if euid == u.uid && Gid::effective() == gid {
            return Ok(Identity {
                uid: u.uid.as_raw(),
                gid: gid.as_raw(),
                note: format!("already running as {}", u.name),
            });
        }
        return Err(format!(
            "user = {spec:?}: cannot switch users when not started as root (running as uid {euid})"
        ));
    }
    let name = std::ffi::CString::new(u.name.clone())
        .map_err(|_| format!("user: the name {:?} holds a NUL byte", u.name))?;
    if u.name.is_empty() {
        nix::unistd::setgroups(&[gid])
    } else {
        nix::unistd::initgroups(&name, gid)
    }
    .map_err(|e| format!("cannot set the supplementary groups of {}: {e}", u.name))?;
    nix::unistd::setgid(gid).map_err(|e| format!("cannot set group {gid}: {e}"))?;
    nix::unistd::setuid(u.uid).map_err(|e| format!("cannot set user {}: {e}", u.uid))?;
    if nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(
            "root privileges could be regained after dropping them: refusing to run".into(),
        );
    }
    Ok(Identity {
        uid: u.uid.as_raw(),
        gid: gid.as_raw(),
        note: format!(
            "dropped root privileges to user {} (uid {}, gid {gid})",
            u.name, u.uid
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(extra: &str) -> Config {
        Config::parse(
            &format!("authserv_id = \"mx.example.net\"\n{extra}"),
            Path::new("t.toml"),
        )
        .unwrap()
    }

    #[test]
    fn root_without_user_is_refused_unless_told() {
        let refused = drop_privileges(&config(""));
        if Uid::effective().is_root() {
            assert!(refused.unwrap_err().contains("run_as_root"));
            let ok = drop_privileges(&config("run_as_root = true\n")).unwrap();
            assert_eq!(ok.uid, 0);
        } else {
            assert_eq!(refused.unwrap().uid, Uid::effective().as_raw());
        }
    }

    #[test]
    fn unknown_users_and_groups_are_named() {
        let e = drop_privileges(&config("user = \"no-such-user-mailstamp\"\n")).unwrap_err();
        assert!(e.contains("no-such-user-mailstamp"), "{e}");
        let e = target(&config("user = \"no-such-user-mailstamp\"\n")).unwrap_err();
        assert!(e.starts_with("user: no such user"), "{e}");
        assert_eq!(target(&config("")), Ok(None));
        let root = target(&config("user = \"0\"\ngroup = \"0\"\n")).unwrap();
        assert_eq!(root.map(|(_, u, g)| (u, g)), Some((0, 0)));
        let e = drop_privileges(&config(
            "user = \"0\"\ngroup = \"no-such-group-mailstamp\"\n",
        ))
        .unwrap_err();
        assert!(e.contains("no-such-group-mailstamp"), "{e}");
    }

    #[test]
    fn group_needs_user() {
        let e = Config::parse(
            "authserv_id = \"mx\"\ngroup = \"mail\"\n",
            Path::new("t.toml"),
        )
        .unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.starts_with("group:"), "{e}");
    }
}
