//! The CSS and JS the pages load, compiled into the binary from `assets/` and served by the
//! viewer under `/assets/` (`assets/css/viewer.css` is `/assets/css/viewer.css`).
//!
//! Each file has a strong validator ([`Asset::etag`], a hash of its bytes computed at build
//! time): the viewer answers `Cache-Control: no-cache` with the `ETag`, so a browser
//! revalidates (a `304` without a body) and a new binary's files are never served stale.

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
    /// `"<hash>"`, quoted as an `ETag` is.
    pub etag: &'static str,
}

const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h = (h ^ bytes[i] as u64).wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

const fn hex_etag(h: u64) -> [u8; 18] {
    let digits = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        out[1 + i] = digits[((h >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    out
}

macro_rules! assets {
    ($($path:literal => $ty:expr),* $(,)?) => {
        /// Every embedded file.
        pub const ALL: &[Asset] = &[$(
            Asset {
                path: $path,
                content_type: $ty,
                body: include_str!(concat!("../assets/", $path)),
                etag: {
                    const TAG: [u8; 18] =
                        hex_etag(fnv1a64(include_str!(concat!("../assets/", $path)).as_bytes()));
                    match std::str::from_utf8(&TAG) {
                        Ok(s) => s,
                        Err(_) => panic!("an ETag is ASCII"),
                    }
                },
            },
        )*];
    };
}

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

assets! {
    "css/viewer.css" => CSS,
    "js/format.js" => JS,
    "js/live.js" => JS,
    "js/waterfall.js" => JS,
    "js/list.js" => JS,
    "js/trace.js" => JS,
    "js/compare.js" => JS,
    "js/history.js" => JS,
    "js/logs.js" => JS,
    "js/metrics.js" => JS,
    "js/chart.js" => JS,
    "css/signals.css" => CSS,
}

/// The file served at `/assets/<path>`.
pub fn get(path: &str) -> Option<&'static Asset> {
    ALL.iter().find(|a| a.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_module_and_import_is_embedded() {
        for page in crate::pages::PAGES {
            assert!(get(&format!("js/{page}.js")).is_some(), "{page}");
        }
        // Every relative import of an embedded module is embedded too.
        for a in ALL.iter().filter(|a| a.path.ends_with(".js")) {
            for line in a.body.lines().filter(|l| l.starts_with("import ")) {
                let target = line.split('\'').nth(1).unwrap();
                let path = format!("js/{}", target.trim_start_matches("./"));
                assert!(get(&path).is_some(), "{} imports {target}", a.path);
            }
        }
        assert!(get("../Cargo.toml").is_none());
    }

    #[test]
    fn etags_follow_the_bytes() {
        let tags: std::collections::HashSet<&str> = ALL.iter().map(|a| a.etag).collect();
        assert_eq!(tags.len(), ALL.len());
        assert!(ALL
            .iter()
            .all(|a| a.etag.len() == 18 && a.etag.starts_with('"')));
    }
}
