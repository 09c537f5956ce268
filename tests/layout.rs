//! The architecture as the build sees it (DESIGN.md, "Layout"): dependencies point one way,
//! `rampart` (src) -> service crates -> `rampart-contracts`, `rampart-platform` ->
//! `rampart-supervisors`, and no service crate depends on another (of any kind: normal, build or
//! dev), so one service can only learn of another's data through an event body or a reply of
//! the contracts crate. Read from `cargo metadata`, the manifests cargo itself resolves.

use std::collections::BTreeMap;

const SERVICES: [&str; 5] = [
    "rampart-asset",
    "rampart-risk",
    "rampart-control",
    "rampart-incident",
    "rampart-audit",
];

/// Workspace package -> (its directory relative to the workspace, the workspace packages it
/// depends on, with the dependency kind).
fn workspace() -> BTreeMap<String, (String, Vec<(String, String)>)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .expect("running cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let names: Vec<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    packages
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            let dir = std::path::Path::new(p["manifest_path"].as_str().unwrap_or_default())
                .parent()
                .and_then(|d| d.strip_prefix(root).ok())
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            let deps = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| names.iter().any(|n| d["name"] == n.as_str()))
                .map(|d| {
                    (
                        d["name"].as_str().unwrap_or_default().to_owned(),
                        d["kind"].as_str().unwrap_or("normal").to_owned(),
                    )
                })
                .collect();
            (name, (dir, deps))
        })
        .collect()
}

#[test]
fn no_service_crate_depends_on_another() {
    let ws = workspace();
    for s in SERVICES {
        let (_, deps) = ws
            .get(s)
            .unwrap_or_else(|| panic!("{s} is not a workspace member"));
        for (dep, kind) in deps {
            assert!(
                !SERVICES.contains(&dep.as_str()),
                "{s} depends on {dep} ({kind}): services talk through rampart-contracts events and \
                 replies, never through each other's crates"
            );
            assert!(
                [
                    "rampart-platform",
                    "rampart-contracts",
                    "rampart-supervisors"
                ]
                .contains(&dep.as_str()),
                "{s} depends on {dep} ({kind}): a service stands on platform, contracts and the runtime only"
            );
        }
    }
}

#[test]
fn dependencies_point_one_way() {
    let ws = workspace();
    let deps_of = |p: &str| -> Vec<String> {
        ws.get(p)
            .unwrap_or_else(|| panic!("{p} is not a workspace member"))
            .1
            .iter()
            .map(|(d, _)| d.clone())
            .collect()
    };
    assert!(
        deps_of("rampart-supervisors").is_empty(),
        "the runtime knows nothing of Rampart's domains"
    );
    for d in deps_of("rampart-platform") {
        assert_eq!(d, "rampart-supervisors", "rampart-platform depends on {d}");
    }
    for d in deps_of("rampart-contracts") {
        assert_eq!(d, "rampart-supervisors", "rampart-contracts depends on {d}");
    }
    let node = deps_of("rampart");
    for s in SERVICES {
        assert!(node.contains(&s.to_owned()), "the node runs {s}");
    }
}

#[test]
fn each_service_crate_lives_in_its_folder_and_says_what_it_owns() {
    let ws = workspace();
    for (crate_name, dir) in [
        ("rampart-platform", "actors/platform"),
        ("rampart-contracts", "actors/contracts"),
        ("rampart-asset", "actors/asset"),
        ("rampart-risk", "actors/risk"),
        ("rampart-control", "actors/control"),
        ("rampart-incident", "actors/incident"),
        ("rampart-audit", "actors/audit"),
        ("rampart-supervisors", "supervisors"),
    ] {
        assert_eq!(ws[crate_name].0, dir, "{crate_name}");
    }
    let root = env!("CARGO_MANIFEST_DIR");
    for s in SERVICES {
        let dir = &ws[s].0;
        let lib = std::fs::read_to_string(format!("{root}/{dir}/src/lib.rs")).unwrap();
        for row in ["**owns**", "**consumes**", "**publishes**", "**answers**"] {
            assert!(
                lib.contains(row),
                "{dir}/src/lib.rs: the crate doc lacks {row}"
            );
        }
    }
    // The README's layout table names every crate folder; the Dockerfile copies every manifest.
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let dockerfile = std::fs::read_to_string(format!("{root}/Dockerfile")).unwrap();
    for (name, (dir, _)) in &ws {
        if dir.is_empty() {
            continue;
        }
        assert!(
            readme.contains(&format!("`{dir}/`")),
            "README's layout table lacks `{dir}/` ({name})"
        );
        assert!(
            dockerfile.contains(&format!("COPY {dir}/Cargo.toml {dir}/")),
            "the Dockerfile does not copy {dir}/Cargo.toml"
        );
    }
}
