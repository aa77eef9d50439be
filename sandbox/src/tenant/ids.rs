//! Identifiers derived from a seed, so an object keeps its id across restarts without storing
//! it (Exchange GUIDs, drive and item ids, channel addresses).

/// SHA-256 of a seed: the stable bytes behind the ids derived from it.
pub(crate) fn digest(seed: &str) -> Vec<u8> {
    openssl::hash::hash(openssl::hash::MessageDigest::sha256(), seed.as_bytes())
        .map(|d| d.to_vec())
        .unwrap_or_else(|_| vec![7; 32])
}

/// A GUID derived from `seed`: stable for the same seed.
pub(crate) fn derived_guid(seed: &str) -> String {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest(seed)[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}
