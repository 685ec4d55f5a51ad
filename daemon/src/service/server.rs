//! The control socket: newline-delimited JSON over a Unix socket in the
//! state folder, mode 0600, for the daemon's own user only.
//!
//! Each connection is its own task, so a client that misbehaves (garbage,
//! a line over 1 MiB, a half-written request left hanging) costs only its
//! own connection: it gets an error and is closed, and everyone else is
//! served as before.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use photovault_protocol::{
    ErrorCode, Request, Response, ResponseBody, MAX_LINE_BYTES, PROTOCOL_VERSION,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};

use super::handlers::{self, Context};

/// How long a client may take to finish sending a request line once it has
/// connected or sent the previous one.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the socket could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Another daemon answers on the socket.
    #[error("photovaultd is already running (it answers on {0}); stop it first, or give this one another state_dir")]
    AlreadyRunning(PathBuf),
    /// The path is too long for a Unix socket.
    #[error("the socket path {0} is too long for a Unix socket (at most about 100 bytes); set a shorter state_dir in the configuration")]
    PathTooLong(PathBuf),
    /// Binding or setting up the socket failed.
    #[error("cannot listen on {path}: {source}; check that the state folder is writable")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Binds the socket at `path`, replacing a stale one left by a daemon that
/// died, and refusing if a live daemon answers there.
pub async fn bind(path: &Path) -> Result<UnixListener, ServerError> {
    if path.as_os_str().len() > 100 {
        return Err(ServerError::PathTooLong(path.to_path_buf()));
    }
    let io_err = |source| ServerError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(ServerError::AlreadyRunning(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(io_err)?;
    }
    let listener = UnixListener::bind(path).map_err(io_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_err)?;
    Ok(listener)
}

/// Serves connections until the task is dropped.
pub async fn serve(listener: UnixListener, cx: Arc<Context>) {
    // SAFETY: getuid cannot fail.
    let own_uid = unsafe { libc::getuid() };
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let cx = cx.clone();
        tokio::spawn(async move {
            match stream.peer_cred() {
                Ok(cred) if cred.uid() == own_uid => {}
                Ok(cred) => {
                    tracing::warn!(uid = cred.uid(), "refused a connection from another user");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "refused a connection whose user is unknown");
                    return;
                }
            }
            if let Err(e) = connection(stream, cx).await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}

/// Writes responses to one client.
pub struct Client {
    writer: OwnedWriteHalf,
}

impl Client {
    /// Sends one response line.
    pub async fn send(&mut self, body: ResponseBody) -> io::Result<()> {
        self.send_response(&Response::new(body)).await
    }

    async fn send_response(&mut self, r: &Response) -> io::Result<()> {
        let mut line = serde_json::to_vec(r).map_err(io::Error::other)?;
        line.push(b'\n');
        self.writer.write_all(&line).await
    }

    /// Sends an error.
    pub async fn error(&mut self, code: ErrorCode, message: impl Into<String>) -> io::Result<()> {
        self.send_response(&Response::error(code, message)).await
    }
}

async fn connection(stream: UnixStream, cx: Arc<Context>) -> io::Result<()> {
    let (read, writer) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut client = Client { writer };
    loop {
        let line = match tokio::time::timeout(REQUEST_TIMEOUT, read_line(&mut reader)).await {
            Err(_) => {
                client
                    .error(
                        ErrorCode::BadRequest,
                        "no complete request within 10 seconds; closing the connection",
                    )
                    .await?;
                return Ok(());
            }
            Ok(Ok(Line::Eof)) => return Ok(()),
            Ok(Ok(Line::TooLong)) => {
                client
                    .error(
                        ErrorCode::TooLong,
                        format!("request line over {MAX_LINE_BYTES} bytes; closing the connection"),
                    )
                    .await?;
                return Ok(());
            }
            Ok(Ok(Line::Text(line))) => line,
            Ok(Err(e)) => return Err(e),
        };
        if line.trim().is_empty() {
            continue;
        }
        let request = match parse(&line) {
            Ok(r) => r,
            Err((code, message)) => {
                client.error(code, message).await?;
                continue;
            }
        };
        tracing::debug!(request = ?request.body, "request");
        // A streaming request takes the connection until it ends.
        let keep_open = handlers::handle(request.body, &cx, &mut client, &mut reader).await?;
        if !keep_open {
            return Ok(());
        }
    }
}

/// A request line, or the reason there is none.
enum Line {
    Text(String),
    TooLong,
    Eof,
}

/// Reads one line of at most [`MAX_LINE_BYTES`] without ever buffering
/// more than that.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<Line> {
    let mut buf = Vec::new();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() {
                Line::Eof
            } else {
                Line::Text(String::from_utf8_lossy(&buf).into_owned())
            });
        }
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if buf.len() + take > MAX_LINE_BYTES {
            return Ok(Line::TooLong);
        }
        buf.extend_from_slice(&available[..take]);
        reader.consume(take);
        if done {
            buf.pop();
            return Ok(Line::Text(String::from_utf8_lossy(&buf).into_owned()));
        }
    }
}

fn parse(line: &str) -> Result<Request, (ErrorCode, String)> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
        (
            ErrorCode::BadRequest,
            format!("the request is not JSON ({e}); send one JSON object per line"),
        )
    })?;
    let version = value.get("version").and_then(|v| v.as_u64());
    if version != Some(u64::from(PROTOCOL_VERSION)) {
        return Err((
            ErrorCode::Version,
            format!(
                "this photovaultd speaks protocol version {PROTOCOL_VERSION}, the request says {}; use the photovaultctl that came with it",
                version.map_or("none".to_string(), |v| v.to_string())
            ),
        ));
    }
    serde_json::from_value(value.clone()).map_err(|e| {
        let kind = value.get("request").and_then(|r| r.as_str());
        match kind {
            Some(k) if e.to_string().contains("unknown variant") => (
                ErrorCode::UnknownRequest,
                format!("unknown request {k:?}; see photovaultctl --help"),
            ),
            _ => (ErrorCode::BadRequest, format!("bad request: {e}")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_over_the_limit_are_refused_without_buffering_them() {
        let mut data = vec![b'x'; MAX_LINE_BYTES + 10];
        data.push(b'\n');
        let mut r = BufReader::new(&data[..]);
        assert!(matches!(read_line(&mut r).await.unwrap(), Line::TooLong));
        let mut r = BufReader::new(&b"{\"a\":1}\nrest"[..]);
        assert!(matches!(read_line(&mut r).await.unwrap(), Line::Text(t) if t == "{\"a\":1}"));
        assert!(matches!(read_line(&mut r).await.unwrap(), Line::Text(t) if t == "rest"));
        assert!(matches!(read_line(&mut r).await.unwrap(), Line::Eof));
    }

    #[test]
    fn requests_are_checked_for_json_version_and_kind() {
        assert_eq!(parse("garbage").unwrap_err().0, ErrorCode::BadRequest);
        assert_eq!(
            parse(r#"{"version":99,"request":"status"}"#).unwrap_err().0,
            ErrorCode::Version
        );
        assert_eq!(
            parse(r#"{"version":1,"request":"erase"}"#).unwrap_err().0,
            ErrorCode::UnknownRequest
        );
        assert_eq!(
            parse(r#"{"version":1,"request":"cancel"}"#).unwrap_err().0,
            ErrorCode::BadRequest
        );
        assert!(parse(r#"{"version":1,"request":"status"}"#).is_ok());
    }
}
