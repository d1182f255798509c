//! argon2id with the parameters OWASP recommends (m=19456 KiB, t=2, p=1).
//!
//! Hashing is CPU-heavy (tens of milliseconds) and holds 19 MiB while it runs: requests run it
//! through [`Hashing`], which bounds how many run at once and how many wait.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use tokio::sync::oneshot;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

fn params() -> anyhow::Result<Params> {
    Params::new(19_456, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))
}

thread_local! {
    /// The thread's argon2 memory, kept from one hash to the next. A fresh 19 MiB aligned
    /// allocation per hash fragments the allocator's heap: memory grew with every login.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// `argon` over `password` and `salt` into `out`, in the thread's kept memory.
fn compute(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        let blocks = argon.params().block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
    })
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) with a fresh random 16-byte salt.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let fail = |e: &dyn std::fmt::Display| anyhow::anyhow!("hashing failed: {e}");
    let params = params()?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt_bytes: [u8; 16] = rand::random();
    let salt = Salt::new(&salt_bytes).map_err(|e| fail(&e))?;
    let mut out = [0_u8; 32];
    compute(&argon, password.as_bytes(), salt.as_ref(), &mut out).map_err(|e| fail(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| fail(&e))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches `phc` (with the algorithm and parameters it names); a malformed
/// stored hash counts as a mismatch. The comparison is constant-time (`Output`'s equality).
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(stored.algorithm.as_str()),
        Params::try_from(&stored),
    ) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0_u8; expected.len()];
    compute(&argon, password.as_bytes(), salt.as_ref(), &mut out).is_ok()
        && Output::new(&out).is_ok_and(|computed| computed == *expected)
}

/// Spends the same time as a real verification, for logins with an unknown email, so that
/// response timing does not reveal which addresses have accounts.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(phc) = DUMMY.get_or_init(|| hash("an unguessable placeholder").ok()) {
        let _ = verify(password, phc);
    }
}

/// Runs password hashes on `concurrency` threads of its own, with at most `queue` more
/// waiting, each for at most [`Hashing::WAIT`]; past either bound the request is told to come
/// back ([`HashingError::Busy`]) rather than held. Each hash holds 19 MiB while it runs, and the
/// allocator keeps what a thread freed for that thread's next use: on the shared blocking pool,
/// a flood of logins touched every thread of it and memory grew with the flood. Here it is
/// bounded by the few threads that ever hash.
#[derive(Clone)]
pub struct Hashing {
    jobs: mpsc::SyncSender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// Why a hash did not run: [`Hashing`] at capacity (retry after
/// [`Hashing::RETRY_AFTER_SECS`]), or the hash itself failed.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("password hashing is at capacity")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(#[from] anyhow::Error),
}

impl Hashing {
    /// The longest a request waits for its hash.
    pub const WAIT: Duration = Duration::from_secs(3);
    /// What a refused request is told to wait before retrying.
    pub const RETRY_AFTER_SECS: u64 = 1;

    /// Starts the threads; they stop once every clone of this is dropped.
    pub fn new(concurrency: u32, queue: u32) -> Self {
        let (jobs, waiting) = mpsc::sync_channel::<Job>(queue as usize);
        let waiting = Arc::new(Mutex::new(waiting));
        for n in 0..concurrency.max(1) {
            let waiting = waiting.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is released before the job runs: the others take the next.
                        let next = waiting
                            .lock()
                            .map_err(drop)
                            .and_then(|rx| rx.recv().map_err(drop));
                        match next {
                            // A panicking hash loses its answer, not the thread.
                            Ok(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
                            Err(()) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Self { jobs }
    }

    /// Runs `work` (a hash or a verification) on a hashing thread.
    pub async fn run<T, F>(&self, work: F) -> Result<T, HashingError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            // Its request gave up waiting: nobody to answer.
            if !answer.is_closed() {
                let _ = answer.send(work());
            }
        });
        self.jobs.try_send(job).map_err(|_| HashingError::Busy)?;
        match tokio::time::timeout(Self::WAIT, answered).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(HashingError::Failed(anyhow::anyhow!("the hash panicked"))),
            Err(_) => Err(HashingError::Busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn past_the_running_and_waiting_bounds_requests_are_refused() {
        let hashing = Hashing::new(1, 1);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let running = tokio::spawn({
            let hashing = hashing.clone();
            async move { hashing.run(move || hold.recv().is_ok()).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiting = tokio::spawn({
            let hashing = hashing.clone();
            async move { hashing.run(|| 2).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            matches!(hashing.run(|| 3).await, Err(HashingError::Busy)),
            "queue full"
        );
        release.send(()).unwrap();
        assert!(running.await.unwrap().unwrap());
        assert_eq!(waiting.await.unwrap().unwrap(), 2, "the waiting one ran");
        assert_eq!(hashing.run(|| 4).await.unwrap(), 4);
    }

    #[test]
    fn hashes_with_argon2id_and_verifies() {
        let phc = hash("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery staple", &phc));
        assert!(!verify("correct horse battery stapler", &phc));
        assert!(!verify("anything", "not a hash"));
        // A hash made by the argon2 crate's own hasher (as stored before) still verifies.
        use argon2::password_hash::PasswordHasher;
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, params().unwrap())
            .hash_password(b"an older password")
            .unwrap()
            .to_string();
        assert!(verify("an older password", &stored));
        assert!(!verify("another password", &stored));
    }
}
