//! Request signatures, as upstream's clients compute them.
//!
//! Remoting: the client puts `AccessKey` (and every header field) in the ext fields, then
//! `Signature` = Base64(HMAC-SHA1(secret, values of the ext fields sorted by key, `Signature`
//! left out, then the body)). gRPC: `authorization: MQv2-HMAC-SHA1 Credential=<ak>,
//! SignedHeaders=x-mq-date-time, Signature=<hex>` where the hex is HMAC-SHA1(secret, the
//! `x-mq-date-time` header's value).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// The ext field naming the user.
pub const ACCESS_KEY: &str = "AccessKey";
/// The ext field carrying the signature.
pub const SIGNATURE: &str = "Signature";
/// Added by clients up to 4.9.3 after signing, so left out for them (remoting version ≤ 399).
const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";
const LAST_VERSION_ADDING_UNIQUE_KEY_QUERY: i32 = 399;

/// What a Remoting request's signature covers. Keys compare as bytes (what Java's `TreeMap` of
/// ASCII keys, Go's `sort.Strings` and C++'s `std::map` all do).
pub fn remoting_content<'a>(
    ext: impl Iterator<Item = (&'a str, &'a str)>,
    version: i32,
    body: &[u8],
) -> Vec<u8> {
    let mut fields: Vec<(&str, &str)> = ext
        .filter(|(k, _)| *k != SIGNATURE)
        .filter(|(k, _)| version > LAST_VERSION_ADDING_UNIQUE_KEY_QUERY || *k != UNIQUE_KEY_QUERY)
        .collect();
    fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let len = fields.iter().map(|(_, v)| v.len()).sum::<usize>() + body.len();
    let mut content = Vec::with_capacity(len);
    for (_, v) in fields {
        content.extend_from_slice(v.as_bytes());
    }
    content.extend_from_slice(body);
    content
}

fn mac(secret: &str, content: &[u8]) -> HmacSha1 {
    // HMAC takes keys of any length; this cannot fail.
    let mut m = <HmacSha1 as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    m.update(content);
    m
}

/// A Remoting signature: Base64 of HMAC-SHA1.
pub fn sign_remoting(secret: &str, content: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(secret, content).finalize().into_bytes())
}

/// Signs a Remoting request in place, as upstream's `AclClientRPCHook` does: `AccessKey`, then
/// `Signature` over every ext field and the body.
pub fn sign_request(
    access_key: &str,
    secret_key: &str,
    ext: &mut std::collections::HashMap<String, String>,
    version: i32,
    body: &[u8],
) {
    ext.insert(ACCESS_KEY.to_string(), access_key.to_string());
    let content = remoting_content(
        ext.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        version,
        body,
    );
    ext.insert(SIGNATURE.to_string(), sign_remoting(secret_key, &content));
}

/// Checks a Remoting signature in constant time.
pub fn verify_remoting(secret: &str, content: &[u8], signature: &str) -> bool {
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    mac(secret, content).verify_slice(&raw).is_ok()
}

/// The parts of a gRPC `authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcAuthorization {
    pub access_key: String,
    pub signature: Vec<u8>,
}

/// Reads `MQv2-HMAC-SHA1 Credential=<ak>[/…], SignedHeaders=…, Signature=<hex>` (the Go client
/// writes `Credential=<ak>//Rocketmq`; clients differ in the hex's case).
///
/// # Errors
/// A header that is not in that form, with what is wrong.
pub fn parse_grpc_authorization(header: &str) -> Result<GrpcAuthorization, String> {
    let (_algorithm, rest) = header
        .trim()
        .split_once(' ')
        .ok_or("the authorization header is not `<algorithm> Credential=…, Signature=…`")?;
    let (mut access_key, mut signature) = (None, None);
    for item in rest.split(',') {
        let (k, v) = item
            .trim()
            .split_once('=')
            .ok_or_else(|| format!("authorization item {item:?} is not key=value"))?;
        match k.trim() {
            "Credential" => access_key = Some(v.split('/').next().unwrap_or_default().to_string()),
            "Signature" => signature = Some(hex_decode(v.trim())?),
            _ => {}
        }
    }
    match (access_key, signature) {
        (Some(access_key), Some(signature)) if !access_key.is_empty() => Ok(GrpcAuthorization {
            access_key,
            signature,
        }),
        _ => Err("the authorization header lacks Credential or Signature".into()),
    }
}

/// Checks a gRPC signature (over the `x-mq-date-time` value) in constant time.
pub fn verify_grpc(secret: &str, date_time: &str, signature: &[u8]) -> bool {
    mac(secret, date_time.as_bytes())
        .verify_slice(signature)
        .is_ok()
}

/// A gRPC signature as the Python and Go clients write it (lowercase hex).
pub fn sign_grpc(secret: &str, date_time: &str) -> String {
    mac(secret, date_time.as_bytes())
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hex_decode(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) || s.len() > 256 {
        return Err("the signature is not hexadecimal".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "the signature is not hexadecimal".to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remoting_content_sorts_values_by_key_and_skips_the_signature() {
        let ext = [
            ("topic", "T"),
            ("AccessKey", "ak"),
            ("Signature", "x"),
            ("a", "1"),
        ];
        let c = remoting_content(ext.iter().copied(), 500, b"BODY");
        // Byte order: "AccessKey" < "a" < "topic".
        assert_eq!(c, b"ak1TBODY");
        let old = [("_UNIQUE_KEY_QUERY", "false"), ("AccessKey", "ak")];
        assert_eq!(remoting_content(old.iter().copied(), 399, b""), b"ak");
        assert_eq!(remoting_content(old.iter().copied(), 400, b""), b"akfalse");
    }

    #[test]
    fn signatures_verify_and_reject() {
        // HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog") (RFC 2104 examples).
        let content = b"The quick brown fox jumps over the lazy dog";
        let sig = sign_remoting("key", content);
        assert_eq!(sig, "3nybhbi3iqa8ino29wqQcBydtNk=");
        assert!(verify_remoting("key", content, &sig));
        assert!(!verify_remoting("other", content, &sig));
        assert!(!verify_remoting("key", b"tampered", &sig));
        assert!(!verify_remoting("key", content, "not base64!"));
    }

    #[test]
    fn grpc_headers_of_every_client_parse() {
        let hex = sign_grpc("secret", "20261207T120000Z");
        for header in [
            format!("MQv2-HMAC-SHA1 Credential=ak, SignedHeaders=x-mq-date-time, Signature={hex}"),
            format!(
                "MQv2-HMAC-SHA1 Credential=ak//Rocketmq, SignedHeaders=x-mq-date-time, Signature={}",
                hex.to_uppercase()
            ),
        ] {
            let a = parse_grpc_authorization(&header).unwrap();
            assert_eq!(a.access_key, "ak");
            assert!(verify_grpc("secret", "20261207T120000Z", &a.signature));
            assert!(!verify_grpc("secret", "20261207T120001Z", &a.signature));
        }
        assert!(parse_grpc_authorization("garbage").is_err());
        assert!(parse_grpc_authorization("MQv2 Credential=, Signature=00").is_err());
        assert!(parse_grpc_authorization("MQv2 Credential=a, Signature=0g").is_err());
    }
}
