//! The static build (`cargo release-static`: musl, static-pie) that benchmarks/span.md
//! recommends for the fastest `span`/`env`: it must really be static, and it must wrap, export,
//! spool and print a shell environment like the default build. scripts/test builds it and
//! names it in `OTELCTL_STATIC_BIN`; without that the tests skip.

mod common;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Output};

use common::{attr, refused_port, skip, text, Collector, Env};
use otelctl_otlp::Value;

fn static_bin() -> Option<PathBuf> {
    match std::env::var_os("OTELCTL_STATIC_BIN") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            skip("OTELCTL_STATIC_BIN is not set (scripts/test builds it for the musl target)");
            None
        }
    }
}

fn run<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(bin: &PathBuf, env: &Env, args: I) -> Output {
    env.cmd_with(bin, args).output().unwrap()
}

/// The ELF program headers' types (PT_INTERP is 3, PT_DYNAMIC 2).
fn program_header_types(elf: &[u8]) -> Vec<u32> {
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 2, "not a 64-bit ELF file");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap());
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (size, count) = (u16_at(0x36), u16_at(0x38));
    (0..count).map(|i| u32_at(phoff + i * size)).collect()
}

#[test]
fn the_static_build_has_no_loader_and_no_shared_libraries() {
    let Some(bin) = static_bin() else { return };
    let elf = std::fs::read(&bin).unwrap();
    let types = program_header_types(&elf);
    assert!(
        !types.contains(&3),
        "{} asks for a dynamic loader (PT_INTERP)",
        bin.display()
    );
    // musl, not glibc (a static glibc build starts 0.25-0.5 ms slower: benchmarks/span.md).
    assert!(
        !elf.windows(6).any(|w| w == b"GLIBC_"),
        "{} is linked with glibc, not musl",
        bin.display()
    );
    // static-pie: position independent (ET_DYN), relocating itself, so ASLR still applies.
    assert_eq!(
        u16::from_le_bytes([elf[16], elf[17]]),
        3,
        "not position independent (ET_DYN)"
    );
    // readelf comes with binutils, which the build's linker needs anyway.
    let out = Command::new("readelf")
        .arg("-d")
        .arg(&bin)
        .output()
        .expect("readelf (binutils) runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("(NEEDED)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn the_static_build_wraps_exports_and_keeps_the_exit_status() {
    let Some(bin) = static_bin() else { return };
    let c = Collector::up();
    let env = Env::new().endpoint(&c.base());
    let out = run(
        &bin,
        &env,
        ["span", "svc", "step", "--", "sh", "-c", "echo out; exit 7"],
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "out\n");
    let (resource, span) = c.next().span();
    assert_eq!(span.name, "step");
    assert_eq!(
        attr(&span.attributes, "process.exit.code"),
        Some(&Value::IntValue(7))
    );
    assert_eq!(
        attr(&resource, "service.name"),
        Some(&Value::StringValue("svc".into()))
    );
}

#[test]
fn the_static_build_spools_when_the_collector_is_down_and_prints_the_shell_env() {
    let Some(bin) = static_bin() else { return };
    let env = Env::new().endpoint(&format!("http://127.0.0.1:{}", refused_port()));
    let out = run(&bin, &env, ["span", "svc", "step", "--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let spooled = env.spooled();
    assert_eq!(spooled.len(), 1, "one spooled request");

    let out = run(&bin, &env, ["env", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("export OTEL_EXPORTER_OTLP_ENDPOINT="),
        "{}",
        text(&out.stdout)
    );
}

/// The static `otelctl` is the lean one; the commands it hands on run in the `otelctl-full`
/// beside it, which is static too.
#[test]
fn the_static_build_hands_other_commands_to_a_static_otelctl_full() {
    let Some(bin) = static_bin() else { return };
    let full = bin.with_file_name("otelctl-full");
    let elf = std::fs::read(&full)
        .unwrap_or_else(|e| panic!("{}: {e} (built with the lean otelctl)", full.display()));
    assert!(
        !program_header_types(&elf).contains(&3),
        "{} asks for a dynamic loader (PT_INTERP)",
        full.display()
    );
    let env = Env::new().with("OTELCTL_BASE_PORT", "23456");
    let out = run(&bin, &env, ["ports", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("\"base\": 23456"),
        "{}",
        text(&out.stdout)
    );
}
