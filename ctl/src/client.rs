//! The connection to `photovaultd`: finding its socket, sending one request,
//! reading the responses.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use photovault_protocol::{paths, Request, RequestBody, Response, ResponseBody, SOCKET_NAME};

/// Where the daemon's socket is: `--socket`, else the `state_dir` of the
/// configuration (`--config` or the platform's file), else the platform's
/// default state folder.
pub fn socket_path(socket: Option<&Path>, config: Option<&Path>) -> Result<PathBuf> {
    if let Some(s) = socket {
        return Ok(s.to_path_buf());
    }
    let home = home()?;
    let macos = cfg!(target_os = "macos");
    let config_file = match config {
        Some(c) => Some(c.to_path_buf()),
        None => {
            let default =
                paths::config_file(macos, &home, paths::xdg_var("XDG_CONFIG_HOME").as_deref());
            default.exists().then_some(default)
        }
    };
    if let Some(file) = config_file {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read the configuration {}", file.display()))?;
        let value: toml::Table = text
            .parse()
            .with_context(|| format!("{} is not valid TOML", file.display()))?;
        if let Some(dir) = value.get("state_dir").and_then(|v| v.as_str()) {
            let dir = match dir.strip_prefix("~/") {
                Some(rest) => home.join(rest),
                None => PathBuf::from(dir),
            };
            return Ok(dir.join(SOCKET_NAME));
        }
    }
    let state = paths::state_dir(macos, &home, paths::xdg_var("XDG_STATE_HOME").as_deref());
    Ok(state.join(SOCKET_NAME))
}

/// The user's home folder.
pub fn home() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|h| h.is_absolute())
        .ok_or_else(|| anyhow::anyhow!("$HOME is not set to an absolute path"))
}

/// An open connection.
pub struct Connection {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Connection {
    /// Connects, explaining what to do when no daemon answers.
    pub fn open(socket: &Path) -> Result<Self> {
        let stream = match UnixStream::connect(socket) {
            Ok(s) => s,
            Err(e) => bail!(
                "photovaultd is not running (nothing answers on {}: {e}).\n\
                 Start it with `photovaultctl install` (runs it at every login), or in a terminal with `photovaultd`; \
                 pass --socket or --config if it uses another state folder.",
                socket.display()
            ),
        };
        let writer = stream.try_clone().context("cannot use the socket")?;
        Ok(Connection {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends one request.
    pub fn send(&mut self, body: RequestBody) -> Result<()> {
        let mut line = serde_json::to_vec(&Request::new(body))?;
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .context("photovaultd closed the connection")?;
        Ok(())
    }

    /// The next response; an error response becomes an error.
    pub fn next(&mut self) -> Result<ResponseBody> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .context("reading from photovaultd failed")?;
        if n == 0 {
            bail!("photovaultd closed the connection (did it stop?)");
        }
        let response: Response = serde_json::from_str(&line).with_context(|| {
            format!("photovaultd sent something this photovaultctl does not understand ({}); are both the same version?", line.trim())
        })?;
        match response.body {
            ResponseBody::Error { message, .. } => bail!("{message}"),
            body => Ok(body),
        }
    }

    /// Sends `body` and returns the single response.
    pub fn call(socket: &Path, body: RequestBody) -> Result<ResponseBody> {
        let mut c = Connection::open(socket)?;
        c.send(body)?;
        c.next()
    }
}
