//! A fast stand-in for an LLM provider, used as the upstream of `haechi proxy` by the load
//! benchmark (`scripts/bench-gateway.sh`) and the end-to-end checks (`scripts/e2e.sh`).
//!
//! ```text
//! cargo run --release -p haechi-gateway --example stub_upstream -- --port 0 [--host 127.0.0.1] [--record] [--delay-ms N]
//! ```
//!
//! Prints `stub upstream listening on HOST:PORT` once bound. Serves canned but well-formed
//! OpenAI (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`) and Anthropic
//! (`/v1/messages`, `/v1/messages/count_tokens`) responses, as SSE when the body asks for
//! `"stream": true`. Request header `x-stub-echo: 1` makes the reply text the last user message
//! (`x-stub-echo: b64` base64-decodes it first, so a test can make the "model" say something the
//! request never carried in the clear). With `--record` the last request is kept and served at
//! `GET /__stub/last`; without it nothing is shared between requests but one counter. With
//! `--delay-ms N` every answer waits N ms after the request body arrived, as a real model does
//! (the memory benchmark keeps 1,000 requests in flight that way).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Either, Full, Limited};
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
const REPLY: &str = "Hello from the stub upstream. This canned completion carries no personal \
                     data, so a protecting gateway can pass it through unchanged.";
/// Gap between SSE frames, so a gateway really sees a stream arrive in pieces.
const FRAME_GAP: Duration = Duration::from_millis(2);

type StubBody = Either<Full<Bytes>, SseBody>;

struct Options {
    host: String,
    port: u16,
    record: bool,
    delay: Duration,
}

/// What `--record` keeps: the last request as the gateway forwarded it.
struct Recorded {
    path: String,
    headers: serde_json::Map<String, Value>,
    body: String,
}

struct State {
    /// `Some` only with `--record`; the benchmark path never touches a lock.
    last: Option<Mutex<Option<Recorded>>>,
    next_id: AtomicU64,
    /// `--delay-ms`: how long each answer waits.
    delay: Duration,
}

/// The few request fields the stub looks at; everything else is skipped without allocation.
#[derive(Deserialize, Default)]
struct Fields<'a> {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    encoding_format: Option<String>,
    #[serde(default, borrow)]
    messages: Option<&'a RawValue>,
    #[serde(default, borrow)]
    prompt: Option<&'a RawValue>,
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
}

#[derive(Clone, Copy, PartialEq)]
enum Api {
    OpenAiChat,
    OpenAiCompletion,
    OpenAiEmbedding,
    AnthropicMessages,
    AnthropicCountTokens,
}

fn main() -> std::process::ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("stub_upstream: {message}");
            eprintln!(
                "usage: stub_upstream [--host 127.0.0.1] [--port 0] [--record] [--delay-ms N]"
            );
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("stub_upstream: cannot start the async runtime: {error}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(options)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stub_upstream: {error}");
            std::process::ExitCode::from(1)
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        host: "127.0.0.1".to_string(),
        port: 0,
        record: false,
        delay: Duration::ZERO,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--record" => options.record = true,
            "--delay-ms" => {
                let value = args.next().ok_or("--delay-ms needs a value")?;
                let ms: u64 = value
                    .parse()
                    .map_err(|_| format!("--delay-ms must be a whole number, got {value:?}"))?;
                options.delay = Duration::from_millis(ms);
            }
            "--host" => options.host = args.next().ok_or("--host needs a value")?,
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                options.port = value
                    .parse()
                    .map_err(|_| format!("--port must be 0-65535, got {value:?}"))?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

async fn serve(options: Options) -> std::io::Result<()> {
    let listener = TcpListener::bind((options.host.as_str(), options.port)).await?;
    let local: SocketAddr = listener.local_addr()?;
    println!("stub upstream listening on {local}");
    if options.record {
        println!("recording the last request at GET /__stub/last");
    }
    let state = Arc::new(State {
        last: options.record.then(|| Mutex::new(None)),
        next_id: AtomicU64::new(1),
        delay: options.delay,
    });
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        // Out of file descriptors under a 1,000-connection run: back off, retry.
                        eprintln!("stub_upstream: accept failed: {error}");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(request, Arc::clone(&state)));
                    // A client that hangs up mid-request is normal under load; nothing to report.
                    let _ = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            () = &mut shutdown => return Ok(()),
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn handle(
    request: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<StubBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(error_json(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body unreadable or too large",
            ))
        }
    };
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    let path = parts.uri.path();
    if path == "/__stub/last" && parts.method == Method::GET {
        return Ok(last_request(&state));
    }
    if let Some(last) = &state.last {
        let recorded = Recorded {
            path: parts
                .uri
                .path_and_query()
                .map_or(path, |pq| pq.as_str())
                .to_string(),
            headers: headers_json(&parts.headers),
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        *last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(recorded);
    }
    let api = match (&parts.method, path) {
        (&Method::POST, "/v1/chat/completions") => Api::OpenAiChat,
        (&Method::POST, "/v1/completions") => Api::OpenAiCompletion,
        (&Method::POST, "/v1/embeddings") => Api::OpenAiEmbedding,
        (&Method::POST, "/v1/messages") => Api::AnthropicMessages,
        (&Method::POST, "/v1/messages/count_tokens") => Api::AnthropicCountTokens,
        _ => {
            return Ok(error_json(
                StatusCode::NOT_FOUND,
                "no such route on the stub upstream",
            ))
        }
    };
    let fields: Fields<'_> = if body.is_empty() {
        Fields::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(fields) => fields,
            Err(_) => {
                return Ok(error_json(
                    StatusCode::BAD_REQUEST,
                    "request body is not JSON",
                ))
            }
        }
    };
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    let reply = reply_text(&parts.headers, &fields);
    let input_tokens = body.len() / 4 + 1;
    Ok(respond(api, &fields, id, &reply, input_tokens))
}

fn respond(
    api: Api,
    fields: &Fields<'_>,
    id: u64,
    reply: &str,
    input_tokens: usize,
) -> Response<StubBody> {
    let model = fields.model.as_deref().unwrap_or("stub-model");
    let streaming = fields.stream == Some(true);
    match api {
        Api::OpenAiChat if streaming => sse(openai_chat_frames(id, model, reply)),
        Api::OpenAiChat => json_ok(openai_chat(id, model, reply, input_tokens)),
        Api::OpenAiCompletion => json_ok(openai_completion(id, model, reply, input_tokens)),
        Api::OpenAiEmbedding => json_ok(openai_embedding(fields, model, input_tokens)),
        Api::AnthropicMessages if streaming => {
            sse(anthropic_frames(id, model, reply, input_tokens))
        }
        Api::AnthropicMessages => json_ok(anthropic_message(id, model, reply, input_tokens)),
        Api::AnthropicCountTokens => json_ok(json!({ "input_tokens": input_tokens }).to_string()),
    }
}

/// The canned reply, or with `x-stub-echo` the last user message (base64-decoded for `b64`).
fn reply_text(headers: &HeaderMap, fields: &Fields<'_>) -> String {
    let Some(echo) = headers
        .get("x-stub-echo")
        .and_then(|value| value.to_str().ok())
    else {
        return REPLY.to_string();
    };
    let text = last_user_text(fields).unwrap_or_default();
    if echo.eq_ignore_ascii_case("b64") {
        return match base64::engine::general_purpose::STANDARD.decode(text.trim()) {
            Ok(decoded) => String::from_utf8_lossy(&decoded).into_owned(),
            Err(_) => text,
        };
    }
    text
}

fn last_user_text(fields: &Fields<'_>) -> Option<String> {
    if let Some(raw) = fields.messages {
        let messages: Value = serde_json::from_str(raw.get()).ok()?;
        let last_user = messages
            .as_array()?
            .iter()
            .rev()
            .find(|message| message.get("role").and_then(Value::as_str) == Some("user"))?;
        return content_text(last_user.get("content")?);
    }
    let raw = fields.prompt.or(fields.input)?;
    content_text(&serde_json::from_str(raw.get()).ok()?)
}

/// A message content as text: a plain string, or the text parts of a content-block array.
fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|part| match part {
                    Value::String(text) => Some(text.as_str()),
                    other => other.get("text").and_then(Value::as_str),
                })
                .collect(),
        ),
        _ => None,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// JSON string literal (quoted and escaped).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

fn openai_chat(id: u64, model: &str, reply: &str, input_tokens: usize) -> String {
    let output_tokens = reply.len() / 4 + 1;
    format!(
        concat!(
            r#"{{"id":"chatcmpl-stub-{id}","object":"chat.completion","created":{created},"#,
            r#""model":{model},"choices":[{{"index":0,"message":{{"role":"assistant","#,
            r#""content":{content},"refusal":null}},"logprobs":null,"finish_reason":"stop"}}],"#,
            r#""usage":{{"prompt_tokens":{input},"completion_tokens":{output},"total_tokens":{total}}},"#,
            r#""system_fingerprint":"fp_stub"}}"#
        ),
        id = id,
        created = unix_now(),
        model = quoted(model),
        content = quoted(reply),
        input = input_tokens,
        output = output_tokens,
        total = input_tokens + output_tokens,
    )
}

fn openai_completion(id: u64, model: &str, reply: &str, input_tokens: usize) -> String {
    let output_tokens = reply.len() / 4 + 1;
    json!({
        "id": format!("cmpl-stub-{id}"),
        "object": "text_completion",
        "created": unix_now(),
        "model": model,
        "choices": [{ "text": reply, "index": 0, "logprobs": null, "finish_reason": "stop" }],
        "usage": {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens
        }
    })
    .to_string()
}

fn openai_embedding(fields: &Fields<'_>, model: &str, input_tokens: usize) -> String {
    let vector = [0.1f32, -0.2, 0.3, 0.05];
    // The OpenAI SDKs ask for base64 (little-endian f32) unless told otherwise.
    let embedding = if fields.encoding_format.as_deref() == Some("base64") {
        let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
        Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
    } else {
        json!(vector)
    };
    json!({
        "object": "list",
        "data": [{ "object": "embedding", "index": 0, "embedding": embedding }],
        "model": model,
        "usage": { "prompt_tokens": input_tokens, "total_tokens": input_tokens }
    })
    .to_string()
}

fn anthropic_message(id: u64, model: &str, reply: &str, input_tokens: usize) -> String {
    json!({
        "id": format!("msg_stub_{id}"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{ "type": "text", "text": reply }],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": { "input_tokens": input_tokens, "output_tokens": reply.len() / 4 + 1 }
    })
    .to_string()
}

/// Splits the reply into a few word-boundary pieces, as a model streams deltas.
fn pieces(reply: &str) -> Vec<String> {
    let words: Vec<&str> = reply.split_inclusive(' ').collect();
    words.chunks(4).map(|chunk| chunk.concat()).collect()
}

fn openai_chat_frames(id: u64, model: &str, reply: &str) -> Vec<Bytes> {
    let created = unix_now();
    let chunk = |delta: Value, finish: Value| {
        let frame = json!({
            "id": format!("chatcmpl-stub-{id}"),
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish }]
        });
        Bytes::from(format!("data: {frame}\n\n"))
    };
    let mut frames = vec![chunk(
        json!({ "role": "assistant", "content": "" }),
        Value::Null,
    )];
    frames.extend(
        pieces(reply)
            .into_iter()
            .map(|piece| chunk(json!({ "content": piece }), Value::Null)),
    );
    frames.push(chunk(json!({}), json!("stop")));
    frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    frames
}

fn anthropic_frames(id: u64, model: &str, reply: &str, input_tokens: usize) -> Vec<Bytes> {
    let event = |name: &str, data: Value| Bytes::from(format!("event: {name}\ndata: {data}\n\n"));
    let mut frames = vec![
        event(
            "message_start",
            json!({ "type": "message_start", "message": {
                "id": format!("msg_stub_{id}"), "type": "message", "role": "assistant",
                "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": { "input_tokens": input_tokens, "output_tokens": 1 }
            }}),
        ),
        event(
            "content_block_start",
            json!({ "type": "content_block_start", "index": 0,
                    "content_block": { "type": "text", "text": "" } }),
        ),
        event("ping", json!({ "type": "ping" })),
    ];
    frames.extend(pieces(reply).into_iter().map(|piece| {
        event(
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0,
                    "delta": { "type": "text_delta", "text": piece } }),
        )
    }));
    frames.push(event(
        "content_block_stop",
        json!({ "type": "content_block_stop", "index": 0 }),
    ));
    frames.push(event(
        "message_delta",
        json!({ "type": "message_delta",
                "delta": { "stop_reason": "end_turn", "stop_sequence": null },
                "usage": { "output_tokens": reply.len() / 4 + 1 } }),
    ));
    frames.push(event("message_stop", json!({ "type": "message_stop" })));
    frames
}

/// A response body fed frame by frame from a task, so SSE arrives as a real stream.
struct SseBody {
    frames: mpsc::Receiver<Bytes>,
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut()
            .frames
            .poll_recv(cx)
            .map(|frame| frame.map(|bytes| Ok(Frame::data(bytes))))
    }
}

fn sse(frames: Vec<Bytes>) -> Response<StubBody> {
    let (sender, receiver) = mpsc::channel(frames.len().max(1));
    tokio::spawn(async move {
        for frame in frames {
            if sender.send(frame).await.is_err() {
                return; // the client went away
            }
            tokio::time::sleep(FRAME_GAP).await;
        }
    });
    let mut response = Response::new(Either::Right(SseBody { frames: receiver }));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    response
}

fn json_ok(body: String) -> Response<StubBody> {
    json_response(StatusCode::OK, body)
}

fn json_response(status: StatusCode, body: String) -> Response<StubBody> {
    let mut response = Response::new(Either::Left(Full::new(Bytes::from(body))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error_json(status: StatusCode, message: &str) -> Response<StubBody> {
    let body = json!({ "error": { "type": "stub_error", "message": message } });
    json_response(status, body.to_string())
}

fn headers_json(headers: &HeaderMap) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    for name in headers.keys() {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        map.insert(name.as_str().to_string(), Value::String(values.join(", ")));
    }
    map
}

fn last_request(state: &State) -> Response<StubBody> {
    let Some(last) = &state.last else {
        return error_json(
            StatusCode::NOT_FOUND,
            "start the stub with --record to keep requests",
        );
    };
    let guard = last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match guard.as_ref() {
        Some(recorded) => json_ok(
            json!({ "path": recorded.path, "headers": recorded.headers, "body": recorded.body })
                .to_string(),
        ),
        None => error_json(StatusCode::NOT_FOUND, "no request recorded yet"),
    }
}
