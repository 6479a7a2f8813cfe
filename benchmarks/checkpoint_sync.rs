//! What making one checkpoint's trace files durable costs, by strategy, with and without
//! another program's unsynced data on the same file system (benchmarks/checkpoint_sync.sh).
//!
//! A checkpoint writes FILES trace files (SIZE bytes each) to `<name>.tmp`, renames them over
//! `<name>.pb` and must have them on disk before the log's segments are freed. Strategies:
//! - `syncfs`: write and rename all, then one syncfs(2) (what otelctl did before 3bd8e35);
//! - `fdatasync-each`: fdatasync each file before its rename (every file a journal commit);
//! - `kick-then-sync`: write all, starting each file's writeback with
//!   sync_file_range(SYNC_FILE_RANGE_WRITE); then fdatasync and rename each, then fsync the
//!   directory;
//! - `parallel-8`: write all, then 8 threads each fdatasync and rename a share, then fsync the
//!   directory (what otelctl does now: concurrent syncs share the journal's commits).
//!
//! With `NEIGHBOUR_MIB` > 0, before every checkpoint a neighbour file of that size is rewritten
//! without syncing (another program's dirty data). Prints one line per measurement:
//! `<strategy> <neighbour MiB> <ms> <MiB left dirty>`, the last being the machine's `Dirty:`
//! (/proc/meminfo) after the checkpoint, capped at the neighbour's size: the neighbour's data
//! the checkpoint did not force to disk (other programs' dirty data counts too).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Instant;

extern "C" {
    fn syncfs(fd: i32) -> i32;
    fn sync_file_range(fd: i32, offset: i64, nbytes: i64, flags: u32) -> i32;
}
const SYNC_FILE_RANGE_WRITE: u32 = 2;

fn dirty_kib() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("Dirty:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn write_file(path: &Path, data: &[u8], kick: bool) -> File {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap();
    f.write_all(data).unwrap();
    if kick {
        assert_eq!(
            unsafe { sync_file_range(f.as_raw_fd(), 0, 0, SYNC_FILE_RANGE_WRITE) },
            0
        );
    }
    f
}

fn checkpoint(dir: &Path, strategy: &str, files: usize, data: &[u8]) {
    let tmp = |i: usize| dir.join(format!("{i:032x}.tmp"));
    let done = |i: usize| dir.join(format!("{i:032x}.pb"));
    match strategy {
        "syncfs" => {
            for i in 0..files {
                drop(write_file(&tmp(i), data, false));
                std::fs::rename(tmp(i), done(i)).unwrap();
            }
            let d = File::open(dir).unwrap();
            assert_eq!(unsafe { syncfs(d.as_raw_fd()) }, 0);
        }
        "fdatasync-each" => {
            for i in 0..files {
                write_file(&tmp(i), data, false).sync_data().unwrap();
                std::fs::rename(tmp(i), done(i)).unwrap();
            }
            File::open(dir).unwrap().sync_all().unwrap();
        }
        "kick-then-sync" => {
            for i in 0..files {
                drop(write_file(&tmp(i), data, true));
            }
            for i in 0..files {
                File::open(tmp(i)).unwrap().sync_data().unwrap();
                std::fs::rename(tmp(i), done(i)).unwrap();
            }
            File::open(dir).unwrap().sync_all().unwrap();
        }
        "parallel-8" => {
            for i in 0..files {
                drop(write_file(&tmp(i), data, false));
            }
            std::thread::scope(|scope| {
                for t in 0..8 {
                    let (tmp, done) = (&tmp, &done);
                    scope.spawn(move || {
                        for i in (t..files).step_by(8) {
                            File::open(tmp(i)).unwrap().sync_data().unwrap();
                            std::fs::rename(tmp(i), done(i)).unwrap();
                        }
                    });
                }
            });
            File::open(dir).unwrap().sync_all().unwrap();
        }
        other => panic!("unknown strategy {other}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: checkpoint_sync DIR FILES SIZE NEIGHBOUR_MIB ROUNDS");
        std::process::exit(2);
    }
    let dir = Path::new(&args[1]);
    let files: usize = args[2].parse().unwrap();
    let size: usize = args[3].parse().unwrap();
    let neighbour_mib: usize = args[4].parse().unwrap();
    let rounds: usize = args[5].parse().unwrap();
    let data = vec![0x5au8; size];
    let neighbour = vec![0xa5u8; 1 << 20];
    let strategies = ["syncfs", "fdatasync-each", "kick-then-sync", "parallel-8"];
    for round in 0..rounds {
        let mut order = strategies.to_vec();
        if round % 2 == 1 {
            order.reverse();
        }
        for strategy in order {
            let traces = dir.join(strategy);
            std::fs::create_dir_all(&traces).unwrap();
            // Everything earlier on disk, so each measurement starts clean.
            let d = File::open(dir).unwrap();
            unsafe { syncfs(d.as_raw_fd()) };
            if neighbour_mib > 0 {
                // A new file each time: ext4 flushes a file truncated and rewritten at its close
                // (auto_da_alloc), which would hide what a checkpoint does to other files.
                let _ = std::fs::remove_file(dir.join("neighbour"));
                let mut f = File::create(dir.join("neighbour")).unwrap();
                for _ in 0..neighbour_mib {
                    f.write_all(&neighbour).unwrap();
                }
            }
            let start = Instant::now();
            checkpoint(&traces, strategy, files, &data);
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            let dirty_after = dirty_kib();
            let left = if neighbour_mib > 0 {
                format!(
                    "{:.0}",
                    (dirty_after as f64 / 1024.0).min(neighbour_mib as f64)
                )
            } else {
                "-".into()
            };
            println!("{strategy} {neighbour_mib} {ms:.2} {left}");
        }
    }
}
