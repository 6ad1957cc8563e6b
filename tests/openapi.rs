//! OpenAPI import: the published petstore example, a document of the demo's API (path and query
//! parameters, $refs, a bearer scheme) imported and run against it, fetched over HTTP, and bad
//! documents refused with the JSON pointer of the problem.

mod common;

use std::io::{Read, Write};
use std::process::Command;

use common::serial;

fn loadbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_loadbench"))
}

#[test]
fn the_published_petstore_imports_a_request_per_operation() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/openapi/petstore.yaml"
    );
    let text = std::fs::read_to_string(path).expect("fixture");
    let i = loadbench::scenario::import::openapi(&text).expect("imports");
    let s = loadbench::scenario::Scenario::parse(&i.toml, None, &|_| None).expect("valid");
    let names: Vec<&str> = s.requests.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["listPets", "createPets", "showPetById"]);
    assert!(
        i.toml.contains("api = \"http://petstore.swagger.io/v1\""),
        "{}",
        i.toml
    );
    // YAML's integer response keys still give the checks; petId has no example and says so.
    assert!(i.toml.contains("checks = [{ status = 201 }]"), "{}", i.toml);
    assert!(i.toml.contains("path = \"/pets/string\""), "{}", i.toml);
    assert!(
        i.notes.iter().any(|n| n.contains("petId has no example")),
        "{:?}",
        i.notes
    );
}

/// A document of part of the demo's own API, served from `url`.
fn demo_document(url: &str) -> String {
    serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "Demo API", "version": "1"},
        "servers": [{"url": "{scheme}://{host}", "variables": {
            "scheme": {"default": "http"}, "host": {"default": url.trim_start_matches("http://")}}}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/v1/{endpoint}": {
                "parameters": [{"$ref": "#/components/parameters/Endpoint"}],
                "get": {
                    "operationId": "echo",
                    "parameters": [{"name": "delay_ms", "in": "query", "required": true,
                                    "schema": {"type": "integer", "default": 1}}],
                    "responses": {"200": {"description": "ok"}}
                }
            },
            "/v1/tokens/count": {"post": {
                "operationId": "countTokens",
                "requestBody": {"$ref": "#/components/requestBodies/Text"},
                "responses": {"200": {"$ref": "#/components/responses/Ok"}}
            }},
            "/health": {"get": {"security": [], "responses": {"200": {"description": "up"}}}}
        },
        "components": {
            "parameters": {"Endpoint": {"name": "endpoint", "in": "path", "required": true,
                                        "schema": {"type": "string", "enum": ["echo", "events"]}}},
            "requestBodies": {"Text": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Text"}}}}},
            "schemas": {"Text": {"type": "object", "properties": {
                "text": {"type": "string", "example": "How many tokens is this?"}}}},
            "responses": {"Ok": {"description": "ok"}},
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}
        }
    })
    .to_string()
}

#[test]
fn a_document_of_the_demos_api_imports_fetched_or_read_and_runs_clean() {
    let _g = serial();
    let demo = loadbench::demo::DemoServer::start(Default::default()).expect("demo");
    let doc = demo_document(&demo.url());
    let dir = tempfile::tempdir().expect("tempdir");
    // Fetched over HTTP from a one-shot server.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let served = doc.clone();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{served}",
            served.len()
        );
    });
    let out_file = dir.path().join("demo.toml");
    let out = loadbench()
        .args(["import", "-o"])
        .arg(&out_file)
        .args(["openapi", &format!("http://127.0.0.1:{port}/openapi.json")])
        .output()
        .expect("import");
    server.join().expect("server");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let toml = std::fs::read_to_string(&out_file).expect("written");
    assert!(
        toml.contains("authorization = \"Bearer ${env.BEARERAUTH}\""),
        "{toml}"
    );
    assert!(toml.contains("path = \"/v1/echo\""), "{toml}");
    assert!(toml.contains("query = { delay_ms = \"1\" }"), "{toml}");
    assert!(toml.contains("How many tokens is this?"), "{toml}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("set BEARERAUTH"), "{stderr}");
    // -o never replaces a file.
    let doc_file = dir.path().join("openapi.json");
    std::fs::write(&doc_file, &doc).expect("write");
    let again = loadbench()
        .args(["import", "-o"])
        .arg(&out_file)
        .arg("openapi")
        .arg(&doc_file)
        .output()
        .expect("import");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("the file exists"));
    assert_eq!(std::fs::read_to_string(&out_file).expect("kept"), toml);
    // The same document from a file; then it runs against the demo.
    let from_file = loadbench()
        .args(["import", "openapi"])
        .arg(&doc_file)
        .output()
        .expect("import");
    assert_eq!(String::from_utf8_lossy(&from_file.stdout), toml);
    let short = toml
        .replace("duration = \"30s\"", "duration = \"2s\"")
        .replace("warmup = \"5s\"", "warmup = \"0s\"");
    std::fs::write(&out_file, short).expect("shorten");
    let run = loadbench()
        .env("BEARERAUTH", "not-a-real-token")
        .args(["run", "--no-store", "--json"])
        .arg(&out_file)
        .output()
        .expect("run");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(v["total"]["errors"], 0, "{}", v["total"]);
    assert_eq!(v["endpoints"].as_array().map(Vec::len), Some(3));
}

#[test]
fn bad_documents_are_refused_with_the_pointer_of_the_problem() {
    let base = |paths: serde_json::Value| {
        serde_json::json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                           "servers": [{"url": "http://127.0.0.1:8080"}], "paths": paths})
        .to_string()
    };
    for (doc, says) in [
        (
            base(
                serde_json::json!({"/pets": {"get": {"parameters": [{"$ref": "#/components/parameters/Nope"}]}}}),
            ),
            "/paths/~1pets/get/parameters/0: $ref \"#/components/parameters/Nope\" points to nothing",
        ),
        (
            base(serde_json::json!({"/pets/{id}": {"get": {"parameters": [{"name": "id"}]}}})),
            "/paths/~1pets~1{id}/get/parameters/0: a parameter needs a name and an in",
        ),
        (
            base(serde_json::json!({"/a": {"get": {"security": [{"key": []}]}}})),
            "/components/securitySchemes/key: the security scheme key is not defined",
        ),
        (
            base(serde_json::json!({"/a": {"$ref": "#/paths/~1a"}})),
            "/paths/~1a: $ref chain longer than",
        ),
        (
            base(serde_json::json!({"/a": {"get": 5}})),
            "/paths/~1a/get: an operation must be an object",
        ),
        (base(serde_json::json!({})), "/paths: no operations"),
        (
            r#"{"swagger": "2.0", "paths": {}}"#.into(),
            "/swagger: Swagger 2.0 is not supported",
        ),
        (
            r#"{"openapi": "4.0.0", "paths": {}}"#.into(),
            "/openapi: version \"4.0.0\"",
        ),
        (r#"{"openapi": "3.0.0", "paths": {"#.into(), "not JSON"),
        ("openapi: 3.0.0\npaths: [\n".into(), "not YAML"),
        (
            "openapi: \"3.0.0\"\nservers:\n  - url: ftp://x\npaths: {}\n".into(),
            "/servers/0/url",
        ),
    ] {
        let e = loadbench::scenario::import::openapi(&doc).expect_err(&doc);
        assert!(e.contains(says), "{says}\n got: {e}");
    }
    // An operation referring to another file is left out and said so; the rest imports.
    let doc = base(serde_json::json!({
        "/a": {"get": {"parameters": [{"$ref": "other.yaml#/p"}]}},
        "/b": {"get": {}}
    }));
    let i = loadbench::scenario::import::openapi(&doc).expect("imports /b");
    assert!(
        i.notes.iter().any(|n| n.contains("left out GET /a")),
        "{:?}",
        i.notes
    );
    assert!(i.toml.contains("path = \"/b\""));
}
