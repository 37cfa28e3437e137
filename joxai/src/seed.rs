//! Demo data: staff accounts for a laptop or a demo. Never run against a production database.

use joxai_platform::Platform;
use uuid::Uuid;

pub const DEMO_STAFF: &[(&str, &str, &str)] = &[
    ("admin@joxai.local", "Ada Admin", "admin"),
    ("supervisor@joxai.local", "Sam Supervisor", "supervisor"),
    ("agent@joxai.local", "Alex Agent", "agent"),
];

/// Create (or reset the password of) the demo staff accounts.
pub async fn seed_demo(platform: &Platform, password: &str) -> anyhow::Result<()> {
    let hash = joxai_ingress::passwords::hash_async(password.to_owned()).await?;
    let client = platform.db.client().await?;
    for (email, name, role) in DEMO_STAFF {
        client
            .execute(
                "INSERT INTO users (id, email, display_name, password_hash, role, availability)
                 VALUES ($1, $2, $3, $4, $5, 'online')
                 ON CONFLICT (lower(email)) DO UPDATE SET password_hash = excluded.password_hash, active = true",
                &[&Uuid::now_v7(), email, name, &hash, role],
            )
            .await?;
    }
    Ok(())
}
