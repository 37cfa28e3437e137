//! Entities a banking message mentions: amounts of money, dates, periods, the last four digits of a card, and
//! account kinds, in English and Spanish.
//!
//! Rule-based on purpose: these values drive look-ups in core banking, so they must be exact and explainable,
//! and each rule below is small enough to test on its own. Digits are matched as ASCII `[0-9]` (the regex `\d`
//! would also accept other scripts' digits, which `str::parse` then rejects).

use std::sync::OnceLock;

use regex::{Captures, Regex};
use serde::Serialize;

use crate::language::{Language, detect_language};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Entity {
    /// An amount in the currency's minor unit (cents; whole yen for JPY). A bare `$` is read as US dollars.
    Money {
        amount_minor: i64,
        currency: String,
    },
    Date {
        date: DateRef,
    },
    Period {
        period: PeriodRef,
    },
    CardLast4(String),
    AccountType(AccountKind),
}

/// A single day, either on the calendar or counted back from today (resolving it needs the bank's "today",
/// which this crate does not assume).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DateRef {
    /// `year` is `None` when the customer did not say it ("on March 5").
    Calendar {
        year: Option<i32>,
        month: u8,
        day: u8,
    },
    /// 0 = today, 1 = yesterday, 3 = "3 days ago".
    DaysAgo { days: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PeriodRef {
    /// The calendar unit before the current one: "last week", "la semana pasada", "last month".
    Previous { unit: TimeUnit },
    /// The current calendar unit so far: "this month", "este mes".
    Current { unit: TimeUnit },
    /// A rolling window ending today: "last 3 months", "past 30 days", "los últimos 3 meses".
    Trailing { count: u32, unit: TimeUnit },
    /// A named month: "in March", "en marzo de 2024".
    Month { month: u8, year: Option<i32> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// Checking (US), current (UK) or "cuenta corriente".
    Checking,
    Savings,
    CreditCard,
    Loan,
}

/// Every entity in the text, in the order they appear. Where two rules match the same words, the more specific
/// one wins (a calendar date over a month period, "last 3 months" over "last month").
pub fn extract(text: &str) -> Vec<Entity> {
    let rules = rules();
    let language = detect_language(text);
    let mut found: Vec<(std::ops::Range<usize>, Entity)> = Vec::new();
    for rule in rules {
        for captures in rule.pattern.captures_iter(text) {
            let Some(whole) = captures.get(0) else {
                continue;
            };
            let span = whole.range();
            if found
                .iter()
                .any(|(taken, _)| taken.start < span.end && span.start < taken.end)
            {
                continue;
            }
            if let Some(entity) = (rule.build)(&captures, language) {
                found.push((span, entity));
            }
        }
    }
    found.sort_by_key(|(span, _)| span.start);
    let mut entities: Vec<Entity> = Vec::new();
    for (_, entity) in found {
        // "savings ... savings account" is one fact, not two.
        if matches!(entity, Entity::AccountType(_)) && entities.contains(&entity) {
            continue;
        }
        entities.push(entity);
    }
    entities
}

struct Rule {
    pattern: Regex,
    build: fn(&Captures, Language) -> Option<Entity>,
}

const MONTHS: &str = "january|february|march|april|may|june|july|august|september|october|november|december|\
    jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec|\
    enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre";

const NUMBER_WORDS: &str = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\
    un|uno|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|a|an";

const AMOUNT: &str = r"[0-9]{1,3}(?:[.,][0-9]{3})+(?:[.,][0-9]{1,2})?|[0-9]+(?:[.,][0-9]{1,2})?";

const CURRENCY_CODES: &str =
    "USD|EUR|GBP|CHF|JPY|CAD|AUD|MXN|COP|ARS|CLP|PEN|BRL|SEK|NOK|DKK|PLN|CZK|HUF|NZD|CNY|INR";

/// Rules in priority order: an earlier rule's match blocks later rules on the same words.
fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let rule = |pattern: String, build: fn(&Captures, Language) -> Option<Entity>| Rule {
            pattern: Regex::new(&pattern).expect("entity patterns are valid regexes"),
            build,
        };
        vec![
            // Dates on the calendar.
            rule(r"\b([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\b".into(), |c, _| {
                calendar(Some(number(c, 1)?), number(c, 2)?, number(c, 3)?)
            }),
            rule(r"\b([0-9]{1,2})/([0-9]{1,2})/([0-9]{4}|[0-9]{2})\b".into(), slash_date),
            rule(
                format!(r"(?i)\b({MONTHS})\.?\s+([0-9]{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+([0-9]{{4}})\b)?"),
                |c, _| calendar(optional_number(c, 3), month_number(c.get(1)?.as_str())?, number(c, 2)?),
            ),
            rule(
                format!(
                    r"(?i)\b([0-9]{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+|de\s+)?({MONTHS})\b(?:,?\s+(?:de\s+|del\s+)?([0-9]{{4}})\b)?"
                ),
                |c, _| calendar(optional_number(c, 3), month_number(c.get(2)?.as_str())?, number(c, 1)?),
            ),
            // Rolling windows, before "last week" so "last 3 weeks" is not read as "last week".
            rule(
                format!(r"(?i)\b(?:last|past|previous)\s+([0-9]{{1,3}}|{NUMBER_WORDS})\s+(days?|weeks?|months?|years?)\b"),
                |c, _| trailing(c),
            ),
            rule(
                format!(
                    r"(?i)\b(?:(?:los|las)\s+)?[úu]ltim[oa]s\s+([0-9]{{1,3}}|{NUMBER_WORDS})\s+(d[ií]as|semanas|meses|a[ñn]os)\b"
                ),
                |c, _| trailing(c),
            ),
            // Days counted back from today.
            rule(r"(?i)\b(?:the\s+)?day\s+before\s+yesterday\b|\b(?:anteayer|antier|antes\s+de\s+ayer)\b".into(), |_, _| {
                Some(Entity::Date { date: DateRef::DaysAgo { days: 2 } })
            }),
            rule(r"(?i)\b(?:yesterday|ayer)\b".into(), |_, _| Some(Entity::Date { date: DateRef::DaysAgo { days: 1 } })),
            rule(r"(?i)\b(?:today|hoy)\b".into(), |_, _| Some(Entity::Date { date: DateRef::DaysAgo { days: 0 } })),
            rule(format!(r"(?i)\b([0-9]{{1,3}}|{NUMBER_WORDS})\s+days?\s+ago\b"), |c, _| {
                Some(Entity::Date { date: DateRef::DaysAgo { days: count(c.get(1)?.as_str())? } })
            }),
            rule(format!(r"(?i)\bhace\s+([0-9]{{1,3}}|{NUMBER_WORDS})\s+d[ií]as?\b"), |c, _| {
                Some(Entity::Date { date: DateRef::DaysAgo { days: count(c.get(1)?.as_str())? } })
            }),
            // Calendar units relative to now.
            rule(r"(?i)\b(?:last|previous|past)\s+(week|month|year)\b".into(), |c, _| {
                Some(Entity::Period { period: PeriodRef::Previous { unit: unit(c.get(1)?.as_str())? } })
            }),
            rule(r"(?i)\b(?:(?:la|el)\s+)?(semana|mes|año|ano)\s+(?:pasad[oa]|anterior)\b".into(), |c, _| {
                Some(Entity::Period { period: PeriodRef::Previous { unit: unit(c.get(1)?.as_str())? } })
            }),
            rule(r"(?i)\b(?:this|current)\s+(week|month|year)\b|\best[ea]\s+(semana|mes|año|ano)\b".into(), |c, _| {
                let word = c.get(1).or_else(|| c.get(2))?.as_str();
                Some(Entity::Period { period: PeriodRef::Current { unit: unit(word)? } })
            }),
            // A named month, only after a preposition so "may I" or "mar" (sea) are not months.
            rule(
                format!(
                    r"(?i)\b(?:in|during|for|since|from|of|en|durante|desde|de)\s+({MONTHS})\b(?:\s+(?:of\s+|de\s+|del\s+)?([0-9]{{4}})\b)?"
                ),
                |c, _| {
                    let month = month_number(c.get(1)?.as_str())?;
                    Some(Entity::Period { period: PeriodRef::Month { month, year: optional_number(c, 2) } })
                },
            ),
            // Money.
            rule(format!(r"([$€£¥])\s?({AMOUNT})"), |c, _| money(c.get(2)?.as_str(), symbol_currency(c.get(1)?.as_str())?)),
            rule(format!(r"({AMOUNT})\s?([$€£¥])"), |c, _| money(c.get(1)?.as_str(), symbol_currency(c.get(2)?.as_str())?)),
            rule(format!(r"(?i)\b({CURRENCY_CODES})\s?({AMOUNT})\b"), |c, _| {
                money(c.get(2)?.as_str(), &c.get(1)?.as_str().to_ascii_uppercase())
            }),
            rule(
                format!(
                    r"(?i)\b({AMOUNT})\s?({CURRENCY_CODES}|dollars?|bucks|d[óo]lar(?:es)?|euros?|pounds?|quid|libras?(?:\s+esterlinas)?|yen(?:es)?)\b"
                ),
                |c, _| money(c.get(1)?.as_str(), word_currency(c.get(2)?.as_str())?),
            ),
            // The last four digits of a card.
            rule(
                r"(?i)\b(?:ending|ends|ended|terminad[ao]|termina|acaba(?:da)?|finaliza(?:da)?)(?:\s+(?:in|with|on|en|con))?\s*[:#]?\s*([0-9]{4})\b"
                    .into(),
                |c, _| Some(Entity::CardLast4(c.get(1)?.as_str().to_owned())),
            ),
            rule(
                r"(?i)\b(?:last|[úu]ltimos)\s+(?:4|four|cuatro)(?:\s+(?:digits|d[íi]gitos))?(?:\s+(?:are|is|of|son|:))?\s*[:#]?\s*([0-9]{4})\b"
                    .into(),
                |c, _| Some(Entity::CardLast4(c.get(1)?.as_str().to_owned())),
            ),
            rule(r"(?:[*xX•]{2,}[\s-]?)+([0-9]{4})\b".into(), |c, _| Some(Entity::CardLast4(c.get(1)?.as_str().to_owned()))),
            // Account kinds.
            rule(
                r"(?i)\b(?:checking|chequing|current)\s+account\b|\bchecking\b|\bcuenta\s+(?:corriente|de\s+cheques)\b".into(),
                |_, _| Some(Entity::AccountType(AccountKind::Checking)),
            ),
            rule(r"(?i)\bsavings?(?:\s+account)?\b|\bcuenta\s+de\s+ahorros?\b|\bahorros?\b".into(), |_, _| {
                Some(Entity::AccountType(AccountKind::Savings))
            }),
            rule(r"(?i)\bcredit\s+cards?\b|\btarjetas?\s+de\s+cr[ée]dito\b".into(), |_, _| {
                Some(Entity::AccountType(AccountKind::CreditCard))
            }),
            rule(r"(?i)\b(?:loans?|mortgages?)\b|\bpr[ée]stamos?\b|\bhipotecas?\b".into(), |_, _| {
                Some(Entity::AccountType(AccountKind::Loan))
            }),
        ]
    })
}

fn number<T: std::str::FromStr>(captures: &Captures, group: usize) -> Option<T> {
    captures.get(group)?.as_str().parse().ok()
}

fn optional_number(captures: &Captures, group: usize) -> Option<i32> {
    number(captures, group)
}

fn calendar(year: Option<i32>, month: u8, day: u8) -> Option<Entity> {
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => 29,
        _ => return None,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    Some(Entity::Date {
        date: DateRef::Calendar { year, month, day },
    })
}

/// `05/01/2024` is May 1st to an American and 5 January to a Spaniard: English messages read month first,
/// Spanish ones day first, unless only one reading is a valid date.
fn slash_date(captures: &Captures, language: Language) -> Option<Entity> {
    let first: u8 = number(captures, 1)?;
    let second: u8 = number(captures, 2)?;
    let year_text = captures.get(3)?.as_str();
    let mut year: i32 = year_text.parse().ok()?;
    if year_text.len() == 2 {
        year += 2000;
    }
    let (month, day) = match language {
        _ if first > 12 => (second, first),
        _ if second > 12 => (first, second),
        Language::English => (first, second),
        Language::Spanish => (second, first),
    };
    calendar(Some(year), month, day)
}

fn month_number(name: &str) -> Option<u8> {
    let name = name.to_lowercase();
    let month = match name.as_str() {
        "january" | "jan" | "enero" => 1,
        "february" | "feb" | "febrero" => 2,
        "march" | "mar" | "marzo" => 3,
        "april" | "apr" | "abril" => 4,
        "may" | "mayo" => 5,
        "june" | "jun" | "junio" => 6,
        "july" | "jul" | "julio" => 7,
        "august" | "aug" | "agosto" => 8,
        "september" | "sept" | "sep" | "septiembre" | "setiembre" => 9,
        "october" | "oct" | "octubre" => 10,
        "november" | "nov" | "noviembre" => 11,
        "december" | "dec" | "diciembre" => 12,
        _ => return None,
    };
    Some(month)
}

fn count(text: &str) -> Option<u32> {
    if let Ok(n) = text.parse() {
        return Some(n);
    }
    let n = match text.to_lowercase().as_str() {
        "a" | "an" | "one" | "un" | "uno" | "una" => 1,
        "two" | "dos" => 2,
        "three" | "tres" => 3,
        "four" | "cuatro" => 4,
        "five" | "cinco" => 5,
        "six" | "seis" => 6,
        "seven" | "siete" => 7,
        "eight" | "ocho" => 8,
        "nine" | "nueve" => 9,
        "ten" | "diez" => 10,
        "eleven" | "once" => 11,
        "twelve" | "doce" => 12,
        _ => return None,
    };
    Some(n)
}

fn unit(word: &str) -> Option<TimeUnit> {
    let word = word.to_lowercase();
    let unit = match word.trim_end_matches('s') {
        "day" | "dia" | "día" => TimeUnit::Day,
        "week" | "semana" => TimeUnit::Week,
        "month" | "mes" | "mese" => TimeUnit::Month,
        "year" | "año" | "ano" => TimeUnit::Year,
        _ => return None,
    };
    Some(unit)
}

fn trailing(captures: &Captures) -> Option<Entity> {
    let count = count(captures.get(1)?.as_str())?;
    let unit = unit(captures.get(2)?.as_str())?;
    Some(Entity::Period {
        period: PeriodRef::Trailing { count, unit },
    })
}

fn symbol_currency(symbol: &str) -> Option<&'static str> {
    match symbol {
        "$" => Some("USD"),
        "€" => Some("EUR"),
        "£" => Some("GBP"),
        "¥" => Some("JPY"),
        _ => None,
    }
}

fn word_currency(word: &str) -> Option<&'static str> {
    let word = word.to_lowercase();
    if let Some(code) = CURRENCY_CODES
        .split('|')
        .find(|code| code.eq_ignore_ascii_case(&word))
    {
        return Some(code);
    }
    if word.starts_with("dollar")
        || word.starts_with("dólar")
        || word.starts_with("dolar")
        || word == "bucks"
    {
        Some("USD")
    } else if word.starts_with("euro") {
        Some("EUR")
    } else if word.starts_with("pound") || word == "quid" || word.starts_with("libra") {
        Some("GBP")
    } else if word.starts_with("yen") {
        Some("JPY")
    } else {
        None
    }
}

/// Reads "1,234.50", "1.234,50", "20,50" and "20.5": a final separator followed by one or two digits is the
/// decimal mark, any other separator groups thousands.
fn money(amount: &str, currency: &str) -> Option<Entity> {
    let decimal_at = amount
        .rfind(['.', ','])
        .filter(|&at| (1..=2).contains(&(amount.len() - at - 1)));
    let (whole, fraction) = match decimal_at {
        Some(at) => (&amount[..at], &amount[at + 1..]),
        None => (amount, ""),
    };
    let whole: i64 = whole
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    let minor_digits = if currency == "JPY" { 0 } else { 2 };
    let mut fraction_minor = 0i64;
    for (i, digit) in fraction.chars().take(minor_digits).enumerate() {
        fraction_minor += i64::from(digit.to_digit(10)?) * 10i64.pow((minor_digits - 1 - i) as u32);
    }
    let amount_minor = whole
        .checked_mul(10i64.pow(minor_digits as u32))?
        .checked_add(fraction_minor)?;
    Some(Entity::Money {
        amount_minor,
        currency: currency.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money_of(text: &str) -> Vec<(i64, String)> {
        extract(text)
            .into_iter()
            .filter_map(|e| match e {
                Entity::Money {
                    amount_minor,
                    currency,
                } => Some((amount_minor, currency)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn money_is_read_in_english_and_spanish_formats() {
        assert_eq!(
            money_of("I sent $50 to my brother"),
            [(5000, "USD".to_owned())]
        );
        assert_eq!(money_of("it cost 50 dollars"), [(5000, "USD".to_owned())]);
        assert_eq!(money_of("they took €20.50"), [(2050, "EUR".to_owned())]);
        assert_eq!(
            money_of("me cobraron 20,50 € de más"),
            [(2050, "EUR".to_owned())]
        );
        assert_eq!(
            money_of("transfer 100 GBP please"),
            [(10000, "GBP".to_owned())]
        );
        assert_eq!(money_of("envié 50 euros"), [(5000, "EUR".to_owned())]);
        assert_eq!(
            money_of("a payment of $1,234.56"),
            [(123456, "USD".to_owned())]
        );
        assert_eq!(
            money_of("un cargo de 1.234,56 €"),
            [(123456, "EUR".to_owned())]
        );
        assert_eq!(money_of("usd 15"), [(1500, "USD".to_owned())]);
        assert_eq!(money_of("my order 123456 arrived"), []);
    }

    #[test]
    fn relative_days_are_read_as_days_ago() {
        assert_eq!(
            extract("I paid yesterday"),
            [Entity::Date {
                date: DateRef::DaysAgo { days: 1 }
            }]
        );
        assert_eq!(
            extract("pagué ayer"),
            [Entity::Date {
                date: DateRef::DaysAgo { days: 1 }
            }]
        );
        assert_eq!(
            extract("three days ago"),
            [Entity::Date {
                date: DateRef::DaysAgo { days: 3 }
            }]
        );
    }

    #[test]
    fn calendar_dates_are_read_with_month_order_following_the_language() {
        let date = |year, month, day| Entity::Date {
            date: DateRef::Calendar { year, month, day },
        };
        assert_eq!(extract("on 2024-05-01"), [date(Some(2024), 5, 1)]);
        assert_eq!(
            extract("the payment on 05/01/2024"),
            [date(Some(2024), 5, 1)]
        );
        assert_eq!(extract("el pago del 05/01/2024"), [date(Some(2024), 1, 5)]);
        assert_eq!(extract("on 25/12/2023"), [date(Some(2023), 12, 25)]);
        assert_eq!(extract("on March 5th, 2024"), [date(Some(2024), 3, 5)]);
        assert_eq!(extract("el 5 de marzo"), [date(None, 3, 5)]);
        assert_eq!(extract("on 2024-02-31"), []);
    }

    #[test]
    fn periods_are_read_in_english_and_spanish() {
        let period = |period| Entity::Period { period };
        assert_eq!(
            extract("transactions from last week"),
            [period(PeriodRef::Previous {
                unit: TimeUnit::Week
            })]
        );
        assert_eq!(
            extract("movimientos de la semana pasada"),
            [period(PeriodRef::Previous {
                unit: TimeUnit::Week
            })]
        );
        assert_eq!(
            extract("show the last 3 months"),
            [period(PeriodRef::Trailing {
                count: 3,
                unit: TimeUnit::Month
            })]
        );
        assert_eq!(
            extract("los últimos tres meses"),
            [period(PeriodRef::Trailing {
                count: 3,
                unit: TimeUnit::Month
            })]
        );
        assert_eq!(
            extract("what did I spend in March"),
            [period(PeriodRef::Month {
                month: 3,
                year: None
            })]
        );
        assert_eq!(
            extract("en marzo de 2024"),
            [period(PeriodRef::Month {
                month: 3,
                year: Some(2024)
            })]
        );
        assert_eq!(
            extract("this month"),
            [period(PeriodRef::Current {
                unit: TimeUnit::Month
            })]
        );
        assert_eq!(extract("may I ask something"), []);
    }

    #[test]
    fn card_last_four_is_read_after_ending_phrases() {
        for text in [
            "my card ending 1234 was declined",
            "the one ending in 1234",
            "la tarjeta terminada en 1234",
            "last four digits are 1234",
            "card **** 1234",
        ] {
            assert_eq!(extract(text), [Entity::CardLast4("1234".into())], "{text}");
        }
    }

    #[test]
    fn account_kinds_are_read_in_english_and_spanish() {
        let kinds = |text| {
            extract(text)
                .into_iter()
                .filter_map(|e| match e {
                    Entity::AccountType(kind) => Some(kind),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds("move money from checking to savings"),
            [AccountKind::Checking, AccountKind::Savings]
        );
        assert_eq!(kinds("my current account"), [AccountKind::Checking]);
        assert_eq!(kinds("pay my credit card"), [AccountKind::CreditCard]);
        assert_eq!(kinds("my loan and my mortgage"), [AccountKind::Loan]);
        assert_eq!(
            kinds("saldo de mi cuenta corriente"),
            [AccountKind::Checking]
        );
        assert_eq!(kinds("mi cuenta de ahorros"), [AccountKind::Savings]);
        assert_eq!(kinds("tarjeta de crédito"), [AccountKind::CreditCard]);
        assert_eq!(kinds("quiero un préstamo"), [AccountKind::Loan]);
    }

    #[test]
    fn several_entities_in_one_message_come_in_text_order() {
        assert_eq!(
            extract("I was charged $12.99 yesterday on my card ending in 4242"),
            [
                Entity::Money {
                    amount_minor: 1299,
                    currency: "USD".into()
                },
                Entity::Date {
                    date: DateRef::DaysAgo { days: 1 }
                },
                Entity::CardLast4("4242".into()),
            ]
        );
    }

    #[test]
    fn extraction_never_panics_on_odd_input() {
        let huge = "9".repeat(100_000);
        for text in [
            "",
            "€",
            "$",
            "99999999999999999999999 dollars",
            "ending 12345",
            "🙂 ayer 💳",
            huge.as_str(),
        ] {
            let _ = extract(text);
        }
    }
}
