//! Country of an address, from databases the user supplies (`shield.geo_databases`):
//!
//! - **MMDB** (`*.mmdb`, MaxMind DB format, read with the `maxminddb` crate): the record's
//!   `country.iso_code` (MaxMind GeoLite2 / DB-IP schema) or a flat `country_code` (the
//!   geo-whois-asn-country schema);
//! - **CSV ranges** (`*.csv`): lines `first,last,CC` with IPv4 or IPv6 addresses and an ISO
//!   3166-1 alpha-2 code (the geo-whois-asn-country and DB-IP "country lite" CSV layout).
//!
//! Databases are asked in the order given; the first that knows the address answers.
//! Where to get them: README, "Country databases".

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Most CSV ranges read from one file (a full IPv4 + IPv6 country file has ~550,000).
pub const MAX_CSV_RANGES: usize = 4_000_000;

/// A country database that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// Unreadable or not a MaxMind DB.
    #[error("country database {path}: {reason}")]
    Open {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A CSV line that is not `first,last,CC`.
    #[error("country database {path}, line {line}: {reason}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

enum Db {
    Mmdb(maxminddb::Reader<Vec<u8>>),
    /// Sorted, non-overlapping `(first, last, code)`; IPv4 as IPv4-mapped IPv6.
    Ranges(Vec<(u128, u128, [u8; 2])>),
}

/// The configured country databases (module docs).
#[derive(Default)]
pub struct Geo {
    dbs: Vec<(PathBuf, Db)>,
}

#[derive(Deserialize)]
struct Country<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country_code: Option<&'a str>,
    #[serde(borrow)]
    country: Option<Country<'a>>,
}

fn key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn code(s: &str) -> Option<[u8; 2]> {
    let b = s.trim().as_bytes();
    (b.len() == 2 && b.iter().all(u8::is_ascii_alphabetic))
        .then(|| [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()])
}

fn read_csv(path: &Path) -> Result<Vec<(u128, u128, [u8; 2])>, GeoError> {
    let text = std::fs::read_to_string(path).map_err(|e| GeoError::Open {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: String| GeoError::Line {
            path: path.to_owned(),
            line: i + 1,
            reason,
        };
        let mut parts = line.split(',');
        let (Some(a), Some(b), Some(c)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected first,last,CC".to_owned()));
        };
        let (a, b): (IpAddr, IpAddr) = match (a.trim().parse(), b.trim().parse()) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return Err(bad(format!("{a:?} or {b:?} is not an IP address"))),
        };
        if a.is_ipv4() != b.is_ipv4() || key(a) > key(b) {
            return Err(bad(
                "the range's ends differ in family or are reversed".to_owned()
            ));
        }
        let Some(c) = code(c) else {
            return Err(bad(format!("{c:?} is not an ISO 3166-1 alpha-2 code")));
        };
        if out.len() >= MAX_CSV_RANGES {
            return Err(bad(format!("more than {MAX_CSV_RANGES} ranges")));
        }
        out.push((key(a), key(b), c));
    }
    out.sort_unstable_by_key(|r| r.0);
    Ok(out)
}

impl Geo {
    /// Opens `paths` (MMDB by the `.mmdb` extension, CSV otherwise).
    ///
    /// # Errors
    /// [`GeoError`] for the first file that cannot be read (a node refuses to start with it).
    pub fn open(paths: &[PathBuf]) -> Result<Self, GeoError> {
        let mut dbs = Vec::with_capacity(paths.len());
        for p in paths {
            let db = if p
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("mmdb"))
            {
                Db::Mmdb(
                    maxminddb::Reader::open_readfile(p).map_err(|e| GeoError::Open {
                        path: p.clone(),
                        reason: e.to_string(),
                    })?,
                )
            } else {
                Db::Ranges(read_csv(p)?)
            };
            dbs.push((p.clone(), db));
        }
        Ok(Self { dbs })
    }

    /// Whether any database is configured.
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
    }

    /// The ISO 3166-1 alpha-2 code of `ip`, upper case; `None` when no database knows it.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.dbs.iter().find_map(|(_, db)| match db {
            Db::Mmdb(r) => {
                let rec: Record<'_> = r.lookup(ip).ok()?.decode().ok()??;
                let c = rec
                    .country_code
                    .or_else(|| rec.country.and_then(|c| c.iso_code))?;
                code(c).map(|c| String::from_utf8_lossy(&c).into_owned())
            }
            Db::Ranges(v) => {
                let k = key(ip);
                let i = v.partition_point(|r| r.0 <= k).checked_sub(1)?;
                let (_, last, c) = v[i];
                (k <= last).then(|| String::from_utf8_lossy(&c).into_owned())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> PathBuf {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/geoip")
            .join(name);
        assert!(
            p.exists(),
            "the shared country data is missing: {}",
            p.display()
        );
        p
    }

    #[test]
    fn mmdb_and_csv_agree_on_real_addresses() {
        let mmdb = Geo::open(&[data("geo-whois-asn-country-ipv4.mmdb")]).unwrap();
        let csv = Geo::open(&[
            data("geo-whois-asn-country-ipv4.csv"),
            data("geo-whois-asn-country-ipv6.csv"),
        ])
        .unwrap();
        // Ranges from the CSV files themselves: 2.144.0.0-2.147.255.255 IR, 1.0.1.0/24 CN.
        for (ip, cc) in [("2.145.1.1", "IR"), ("1.0.1.7", "CN"), ("1.0.0.1", "AU")] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(mmdb.country(ip).as_deref(), Some(cc), "mmdb {ip}");
            assert_eq!(csv.country(ip).as_deref(), Some(cc), "csv {ip}");
        }
        let v6: IpAddr = "2001:67c:a38:f850::1".parse().unwrap();
        assert_eq!(csv.country(v6).as_deref(), Some("KP"));
        let mapped: IpAddr = "::ffff:2.145.1.1".parse().unwrap();
        assert_eq!(mmdb.country(mapped).as_deref(), Some("IR"));
        let private: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(mmdb.country(private), None);
        assert_eq!(csv.country(private), None);
    }

    #[test]
    fn bad_files_are_refused_with_their_line() {
        let dir = std::env::temp_dir().join(format!("rampart-geo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.csv");
        std::fs::write(&p, "1.0.0.0,1.0.0.255,AU\n1.0.1.0,nope,CN\n").unwrap();
        let e = Geo::open(std::slice::from_ref(&p))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
        let p = dir.join("bad.mmdb");
        std::fs::write(&p, "not a database").unwrap();
        assert!(Geo::open(&[p]).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
