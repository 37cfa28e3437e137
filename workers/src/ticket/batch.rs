//! Group commit for the ticket worker's two hot statements: a customer's message and a bot's reply.
//!
//! Why: on a small machine Postgres spends most of a chat turn's cost on committing (a WAL flush and
//! the bookkeeping around every transaction), not on the rows themselves. Handlers therefore hand
//! their statement to a [`WriteBatcher`], which runs whatever has queued up meanwhile as one
//! transaction — `BEGIN`, the statements, `COMMIT`, sent in one round trip — and answers each
//! handler only after that commit. Nothing waits on purpose: when the batcher is idle a statement
//! runs at once, alone, in its own implicit transaction (as before batching). Batches only grow
//! when commits are already the bottleneck, which is exactly when sharing one commit pays.
//!
//! Correctness:
//! - a handler publishes its events only after its batch has committed, so nothing is announced that
//!   could still be rolled back;
//! - statements of one batch run in conversation order (a stable sort keeps the order of one
//!   conversation's statements), so two batches lock conversations in the same order and cannot
//!   deadlock each other; within a batch a later statement sees the earlier ones (same transaction),
//!   so an answer that follows its conversation's earlier answer in the same batch is not held back;
//! - if any statement of a batch fails, Postgres rolls the whole batch back, and every statement is
//!   run again on its own, so one bad statement cannot fail its neighbours. Every statement is keyed
//!   by its message id, so running it again changes nothing twice.

use std::sync::Arc;

use futures::future::BoxFuture;
use joxai_platform::db::{Db, DbError};
use joxai_schemas::types::MessageView;
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use joxai_schemas::events::ConversationHistory;

use super::store::{self, ConversationState, FastBotReply, NewMessage, StoredMessage};

/// At most this many statements share a commit: bounds a batch's lock time and round-trip size.
const MAX_BATCH: usize = 64;

/// A message to insert, owned, so it can wait in the batcher's queue.
#[derive(Clone)]
pub struct OwnedMessage {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub sender: joxai_schemas::types::Sender,
    pub text: String,
    pub client_message_id: Option<String>,
    pub in_reply_to: Option<Uuid>,
    pub intent: Option<String>,
    pub confidence: Option<f32>,
}

impl OwnedMessage {
    pub fn of(m: &NewMessage<'_>) -> Self {
        Self {
            id: m.id,
            conversation_id: m.conversation_id,
            sender: m.sender,
            text: m.text.to_owned(),
            client_message_id: m.client_message_id.map(str::to_owned),
            in_reply_to: m.in_reply_to,
            intent: m.intent.map(str::to_owned),
            confidence: m.confidence,
        }
    }

    fn borrow(&self) -> NewMessage<'_> {
        NewMessage {
            id: self.id,
            conversation_id: self.conversation_id,
            sender: self.sender,
            author_id: None,
            text: &self.text,
            client_message_id: self.client_message_id.as_deref(),
            in_reply_to: self.in_reply_to,
            intent: self.intent.as_deref(),
            confidence: self.confidence,
        }
    }
}

/// One statement waiting for a batch.
enum Op {
    /// [`store::insert_customer_message_fast`], with the customer's previous message.
    Customer(OwnedMessage, Option<Uuid>),
    /// [`store::insert_bot_reply_fast`] with its ordering window, then [`store::recent_bot_replies`]
    /// over [`store::REPUBLISH_WINDOW`] (read after the insert, in the same transaction, so it sees
    /// every answer committed before it and the batch's own).
    BotReply(OwnedMessage, std::time::Duration),
}

impl Op {
    fn conversation_id(&self) -> Uuid {
        match self {
            Op::Customer(m, _) | Op::BotReply(m, _) => m.conversation_id,
        }
    }
}

/// What a statement did, once its batch has committed.
pub enum Done {
    Customer(Option<(StoredMessage, ConversationState, ConversationHistory)>),
    BotReply(FastBotReply, Vec<MessageView>),
}

struct Job {
    op: Op,
    reply: oneshot::Sender<Result<Done, DbError>>,
}

/// Runs the ticket worker's hot statements in shared transactions (see the module documentation).
pub struct WriteBatcher {
    queue: mpsc::UnboundedSender<Job>,
}

impl WriteBatcher {
    /// Start `lanes` batch runners on `db`'s pool: up to `lanes` batches are in flight at once (each
    /// holds one pooled connection while it runs), and statements queue while all are busy.
    pub fn start(db: Db, lanes: usize) -> Self {
        let (queue, jobs) = mpsc::unbounded_channel();
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..lanes.max(1) {
            tokio::spawn(lane(db.clone(), jobs.clone()));
        }
        Self { queue }
    }

    /// [`store::insert_customer_message_fast`], committed (possibly with others) before it returns.
    pub async fn customer_message(
        &self,
        m: &NewMessage<'_>,
        after: Option<Uuid>,
    ) -> Result<Option<(StoredMessage, ConversationState, ConversationHistory)>, DbError> {
        match self
            .submit(Op::Customer(OwnedMessage::of(m), after))
            .await?
        {
            Done::Customer(done) => Ok(done),
            Done::BotReply(..) => unreachable!("a customer message is answered as one"),
        }
    }

    /// [`store::insert_bot_reply_fast`] (ordering window `window`) and the conversation's bot replies
    /// of the last [`store::REPUBLISH_WINDOW`],
    /// committed (possibly with others) before it returns.
    pub async fn bot_reply(
        &self,
        m: &NewMessage<'_>,
        window: std::time::Duration,
    ) -> Result<(FastBotReply, Vec<MessageView>), DbError> {
        match self
            .submit(Op::BotReply(OwnedMessage::of(m), window))
            .await?
        {
            Done::BotReply(reply, earlier) => Ok((reply, earlier)),
            Done::Customer(..) => unreachable!("a bot reply is answered as one"),
        }
    }

    async fn submit(&self, op: Op) -> Result<Done, DbError> {
        let (reply, answer) = oneshot::channel();
        let lost =
            || DbError::Lost("the write batcher stopped (the process is shutting down)".into());
        self.queue.send(Job { op, reply }).map_err(|_| lost())?;
        answer.await.map_err(|_| lost())?
    }
}

/// One batch runner: take what is queued (at least one statement, at most [`MAX_BATCH`]), run it,
/// answer, repeat. Stops when the batcher is dropped.
async fn lane(db: Db, jobs: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>) {
    loop {
        let mut batch = Vec::new();
        {
            let mut jobs = jobs.lock().await;
            match jobs.recv().await {
                Some(job) => batch.push(job),
                None => return,
            }
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        run_batch(&db, batch).await;
    }
}

async fn run_batch(db: &Db, mut batch: Vec<Job>) {
    let m = joxai_platform::metrics::metrics();
    m.db_batch_size.observe(batch.len() as f64);
    let client = match db.client().await {
        Ok(c) => c,
        Err(e) => return fail_all(batch, &e),
    };
    if batch.len() == 1 {
        let job = batch.pop().expect("one job");
        let result = run_alone(&client, &job.op).await;
        let _ = job.reply.send(result);
        return;
    }
    // Same order of row locks in every batch (see the module documentation).
    batch.sort_by_key(|job| job.op.conversation_id());
    match run_together(&client, &batch).await {
        Ok(results) => {
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.reply.send(Ok(result));
            }
        }
        // The connection itself failed (the commit may or may not have happened): every statement
        // gets a transient error, and the runtime retries or requeues each message. Each is keyed by
        // its message id, so a retry after a commit that did happen is harmless.
        Err(e) if connection_failed(&e) => fail_all(batch, &e),
        Err(e) => {
            // One statement failed and took the batch down with it: run each on its own.
            tracing::debug!(error = %e, size = batch.len(), "write batch rolled back: running its statements one by one");
            m.db_batch_fallbacks.inc();
            for job in batch {
                let result = run_alone(&client, &job.op).await;
                let _ = job.reply.send(result);
            }
        }
    }
}

/// Answer every statement of a batch with the same transient error (`DbError` is not `Clone`).
fn fail_all(batch: Vec<Job>, error: &DbError) {
    let message = error.to_string();
    for job in batch {
        let _ = job.reply.send(Err(DbError::Lost(message.clone())));
    }
}

/// True when the connection, not a statement, failed: no SQLSTATE means the server never answered.
fn connection_failed(e: &DbError) -> bool {
    match e {
        DbError::Query(q) => q.code().is_none(),
        DbError::Pool(_) | DbError::Lost(_) => true,
        DbError::Conflict(_) | DbError::NotFound => false,
    }
}

/// One statement in its own implicit transaction.
async fn run_alone(client: &deadpool_postgres::Client, op: &Op) -> Result<Done, DbError> {
    match op {
        Op::Customer(m, after) => Ok(Done::Customer(
            store::insert_customer_message_fast(client, &m.borrow(), *after).await?,
        )),
        Op::BotReply(m, window) => {
            let message = m.borrow();
            let (reply, earlier) = tokio::try_join!(
                store::insert_bot_reply_fast(client, &message, *window),
                store::recent_bot_replies(
                    client,
                    m.conversation_id,
                    store::REPUBLISH_WINDOW,
                    // The reply itself is the newest.
                    store::REPUBLISH_MAX + 1,
                ),
            )?;
            Ok(Done::BotReply(reply, earlier))
        }
    }
}

/// Every statement of the batch in one transaction, sent as one pipeline: BEGIN, the statements in
/// order, COMMIT. Any failure means the whole batch was rolled back.
async fn run_together(
    client: &deadpool_postgres::Client,
    batch: &[Job],
) -> Result<Vec<Done>, DbError> {
    // Prepare (or find in the connection's cache) before sending anything, so that no statement
    // waits for a prepare round trip while the ones after it, and the COMMIT, go ahead of it.
    store::prepare_hot_statements(client).await?;
    let begin = client.batch_execute("BEGIN");
    let statements: Vec<BoxFuture<'_, Result<Done, DbError>>> = batch
        .iter()
        .map(|job| -> BoxFuture<'_, Result<Done, DbError>> { Box::pin(run_alone(client, &job.op)) })
        .collect();
    let commit = client.batch_execute("COMMIT");
    let (begun, results, committed) =
        futures::join!(begin, futures::future::join_all(statements), commit);
    begun?;
    let results: Vec<Done> = results.into_iter().collect::<Result<_, _>>()?;
    committed?;
    Ok(results)
}
