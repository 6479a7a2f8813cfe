//! What one durable log append costs on this disk, by how the log file is written.
//!
//! usage: wal_sync DIR RECORD_BYTES APPENDS_PER_ROUND ROUNDS
//!
//! Each mode writes APPENDS_PER_ROUND records of RECORD_BYTES into a fresh log file in DIR and
//! times every append until it is durable; the modes take turns, ROUNDS times, so they see the
//! same disk and load. Prints a Markdown table (milliseconds per durable append).
//!
//! | mode | how |
//! |---|---|
//! | `append+fdatasync` | `write` at the end of the file (it grows), then `fdatasync` |
//! | `overwrite+fdatasync` | `pwrite` into a file already written with zeros and synced (no size change), then `fdatasync` |
//! | `fallocate+fdatasync` | `pwrite` into space reserved by `fallocate` (unwritten extents), then `fdatasync` |
//! | `append O_DSYNC` | `write` at the end of a file opened `O_DSYNC` |
//! | `overwrite O_DSYNC` | `pwrite` into a zero-written file opened `O_DSYNC` |
//!
//! On ext4 a growing file's `fdatasync` must commit the journal (the size changed); an
//! overwrite inside written blocks needs only the data flushed. std only (plus `fallocate`
//! from libc), built with `rustc -O` by benchmarks/wal_sync.sh.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::time::Instant;

const O_DSYNC: i32 = 0o10000;

extern "C" {
    fn fallocate(fd: i32, mode: i32, offset: i64, len: i64) -> i32;
}

const MODES: [&str; 5] = [
    "append+fdatasync",
    "overwrite+fdatasync",
    "fallocate+fdatasync",
    "append O_DSYNC",
    "overwrite O_DSYNC",
];

fn zero_written(path: &Path, len: u64) {
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
        .unwrap();
    let zeros = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n]).unwrap();
        left -= n as u64;
    }
    f.sync_all().unwrap();
}

fn run(mode: &str, dir: &Path, record: &[u8], appends: usize, out: &mut Vec<f64>) {
    let path = dir.join("wal_sync.log");
    let _ = std::fs::remove_file(&path);
    let len = (record.len() * appends) as u64;
    let f: File = match mode {
        "append+fdatasync" => OpenOptions::new().create(true).append(true).open(&path).unwrap(),
        "append O_DSYNC" => OpenOptions::new()
            .create(true)
            .append(true)
            .custom_flags(O_DSYNC)
            .open(&path)
            .unwrap(),
        "overwrite+fdatasync" => {
            zero_written(&path, len);
            OpenOptions::new().write(true).open(&path).unwrap()
        }
        "overwrite O_DSYNC" => {
            zero_written(&path, len);
            OpenOptions::new()
                .write(true)
                .custom_flags(O_DSYNC)
                .open(&path)
                .unwrap()
        }
        "fallocate+fdatasync" => {
            let f = OpenOptions::new().create(true).write(true).open(&path).unwrap();
            use std::os::fd::AsRawFd;
            // SAFETY: fallocate on a file descriptor this function owns.
            assert_eq!(unsafe { fallocate(f.as_raw_fd(), 0, 0, len as i64) }, 0);
            f.sync_all().unwrap();
            f
        }
        _ => unreachable!(),
    };
    let sync = mode.ends_with("fdatasync");
    let append = mode.starts_with("append");
    let mut at = 0u64;
    for _ in 0..appends {
        let started = Instant::now();
        if append {
            (&f).write_all(record).unwrap();
        } else {
            f.write_all_at(record, at).unwrap();
        }
        if sync {
            f.sync_data().unwrap();
        }
        out.push(started.elapsed().as_secs_f64() * 1e3);
        at += record.len() as u64;
    }
    drop(f);
    let _ = std::fs::remove_file(&path);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: wal_sync DIR RECORD_BYTES APPENDS_PER_ROUND ROUNDS");
        std::process::exit(2);
    }
    let dir = Path::new(&args[1]);
    let record = vec![0xa5u8; args[2].parse().unwrap()];
    let appends: usize = args[3].parse().unwrap();
    let rounds: usize = args[4].parse().unwrap();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); MODES.len()];
    for _ in 0..rounds {
        for (i, mode) in MODES.iter().enumerate() {
            run(mode, dir, &record, appends, &mut times[i]);
        }
    }
    println!(
        "| mode ({} B records, {} appends) | mean ms | p50 | p90 | p99 | max |",
        record.len(),
        appends * rounds
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (mode, mut t) in MODES.iter().zip(times) {
        t.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = t.len();
        let mean = t.iter().sum::<f64>() / n as f64;
        let at = |q: f64| t[((n as f64 * q) as usize).min(n - 1)];
        println!(
            "| {mode} | {mean:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            at(0.5),
            at(0.9),
            at(0.99),
            t[n - 1]
        );
    }
}
