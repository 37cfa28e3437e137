//! Postgres connections honour libpq's `sslmode`: `require` encrypts, `verify-ca` checks who signed
//! the server's certificate, `verify-full` also the name it was issued for, and a server that fails
//! the check is refused. Postgres itself reports whether the connection is encrypted
//! (`pg_stat_ssl`).

mod fault_support;
mod support;

use fault_support::PrivatePostgres;
use joxai_platform::config::Config;
use joxai_platform::db::Db;

fn db(url: &str) -> anyhow::Result<Db> {
    let config = Config::from_figment(
        Config::figment()
            .merge(("database_url", url))
            .merge(("db_pool_size", 2)),
    )
    .expect("config");
    Db::connect(&config)
}

async fn encrypted(url: &str) -> Result<bool, String> {
    let db = db(url).map_err(|e| format!("{e:#}"))?;
    db.tls().await.map(|(on, _)| on).map_err(|e| e.to_string())
}

/// This machine's Postgres offers TLS (Debian's snakeoil certificate): `require` encrypts and
/// `disable` does not, whatever the server would prefer.
#[tokio::test]
async fn require_encrypts_and_disable_does_not_on_the_machines_postgres() {
    let url = support::fresh_database().await;
    assert_eq!(
        encrypted(&format!("{url}?sslmode=require")).await,
        Ok(true),
        "sslmode=require"
    );
    assert_eq!(
        encrypted(&format!("{url}?sslmode=disable")).await,
        Ok(false),
        "sslmode=disable"
    );
    assert_eq!(
        encrypted(&format!("{url}?sslmode=prefer")).await,
        Ok(true),
        "sslmode=prefer, offered"
    );
}

#[tokio::test]
async fn verify_full_connects_only_to_a_server_whose_certificate_the_root_signed_for_that_name() {
    let pg = PrivatePostgres::start_with_tls("IP:127.0.0.1");
    let ca = pg.tls_dir().join("ca.pem");
    let ca = ca.to_string_lossy();
    let at = |host: &str, query: &str| {
        format!("postgres://postgres@{host}:{}/postgres?{query}", pg.port)
    };

    assert_eq!(
        encrypted(&at(
            "127.0.0.1",
            &format!("sslmode=verify-full&sslrootcert={ca}")
        ))
        .await,
        Ok(true)
    );
    assert_eq!(
        encrypted(&at(
            "127.0.0.1",
            &format!("sslmode=verify-ca&sslrootcert={ca}")
        ))
        .await,
        Ok(true)
    );

    // The certificate names 127.0.0.1, not localhost: verify-full refuses, verify-ca (chain only) accepts.
    let by_name = encrypted(&at(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .await;
    assert!(
        by_name.is_err(),
        "verify-full accepted a certificate issued for another name"
    );
    assert_eq!(
        encrypted(&at(
            "localhost",
            &format!("sslmode=verify-ca&sslrootcert={ca}")
        ))
        .await,
        Ok(true)
    );

    // Another CA did not sign it: both verifying modes refuse; `require` (no root given) encrypts
    // without checking, as libpq does.
    let other =
        std::env::temp_dir().join(format!("joxai-other-ca-{}", uuid::Uuid::new_v4().simple()));
    fault_support::make_certificates(&other, "IP:127.0.0.1");
    let other_ca = other.join("ca.pem");
    let other_ca = other_ca.to_string_lossy();
    for mode in ["verify-full", "verify-ca", "require"] {
        let result = encrypted(&at(
            "127.0.0.1",
            &format!("sslmode={mode}&sslrootcert={other_ca}"),
        ))
        .await;
        assert!(
            result.is_err(),
            "sslmode={mode} accepted a server certificate another CA signed"
        );
    }
    assert_eq!(
        encrypted(&at("127.0.0.1", "sslmode=require")).await,
        Ok(true)
    );

    // The server takes no plain-text connection, so `disable` cannot connect at all.
    assert!(
        encrypted(&at("127.0.0.1", "sslmode=disable"))
            .await
            .is_err()
    );
    let _ = std::fs::remove_dir_all(&other);
}
