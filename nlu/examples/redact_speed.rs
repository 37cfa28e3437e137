//! How long redaction takes: typical chat messages, and 1 MB texts built to make it work hardest (every
//! character a digit or separator, card-like groups, invisible characters, digits of other scripts, IBAN-like
//! prefixes, security-code cues). `make bench` runs it; run it alone with
//! `cargo run --release -p joxai-nlu --example redact_speed`.
//!
//! Redaction is on every message's path (and every staff field), so it must stay linear: the promise is a
//! typical message in microseconds and 1 MB of hostile input in well under 200 ms.

use std::time::Instant;

use joxai_nlu::redact::{mask_split_number, redact};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn one_megabyte(unit: &str) -> String {
    unit.repeat((1 << 20) / unit.len() + 1)
}

fn main() {
    let typical = [
        "What is my account balance?",
        "my card 4111 1111 1111 1111 was charged twice, cvv 123",
        "mi tarjeta ４１１１.１１１１.１１１１.１１１１ no funciona, ¿qué pasó?",
        "send the refund to ES91 2100 0418 4502 0005 1332 please",
    ];
    for text in typical {
        let seconds = best_of(2000, || redact(text));
        println!(
            "typical ({:>3} bytes) {:>8.2} µs  {text:?}",
            text.len(),
            seconds * 1e6
        );
    }
    let hostile = [
        ("digits only", one_megabyte("4")),
        ("single digits and spaces", one_megabyte("4 ")),
        ("card-like groups", one_megabyte("4111 1111 1111 1111 ")),
        (
            "groups and separator runs",
            one_megabyte("41.\u{A0}1_\u{2009}1,"),
        ),
        (
            "zero-width inside digits",
            one_megabyte("4\u{200B}1\u{200D}"),
        ),
        ("Arabic-Indic digits", one_megabyte("٤١١١ ")),
        ("IBAN-like prefixes", one_megabyte("ES91 ")),
        ("security-code cues", one_megabyte("cvv cvv 12 ")),
    ];
    let mut worst: f64 = 0.0;
    for (name, text) in &hostile {
        let seconds = best_of(3, || redact(text));
        worst = worst.max(seconds);
        println!("1 MB {name:<28} {:>8.1} ms", seconds * 1e3);
    }
    let half = hostile[2].1.len() / 2;
    let cut = (half..)
        .find(|&i| hostile[2].1.is_char_boundary(i))
        .unwrap_or(half);
    let (first, second) = hostile[2].1.split_at(cut);
    let seconds = best_of(3, || mask_split_number(&[first], second));
    println!(
        "1 MB split over two messages       {:>8.1} ms",
        seconds * 1e3
    );
    println!(
        "worst 1 MB: {:.1} ms (target < 200 ms)",
        worst.max(seconds) * 1e3
    );
}
