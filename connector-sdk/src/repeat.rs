//! Making an operation safe to repeat. A step of a queued run runs at least
//! once: when its worker stops mid-step, the step runs again, with the same
//! run and step ids and a higher `attempt`. An operation that creates
//! something can make the repeat do nothing twice:
//!
//! - pass [`token`] to a service that takes an idempotency token
//!   (`ClientToken`, `ClientRequestToken`): the same on every attempt of a
//!   step, different for every step;
//! - or put the token on what it creates (a tag) and, when an earlier
//!   attempt may have taken effect ([`earlier_effect`]), look for it before
//!   creating again; or read back "already exists" under the same key (a
//!   user name) as success: [`create_once`].
//!
//! Then declare it with [`Operations::idempotent`](crate::Operations::idempotent),
//! and hosts do not mark its repeated steps as possibly done twice.

use crate::Error;
use crate::invocation::Context;

/// The idempotency token of the step `context` runs: 32 hexadecimal
/// characters, the same on every attempt of the step, different for any
/// other step or run; `None` outside a run.
///
/// ```
/// use connector_sdk::invocation::Context;
/// let step = |attempt| Context { run_id: Some("run-1".into()), step_id: Some("pool".into()), attempt };
/// let first = connector_sdk::repeat::token_of(&step(1)).unwrap();
/// assert_eq!(first.len(), 32);
/// assert_eq!(connector_sdk::repeat::token_of(&step(2)).unwrap(), first, "every attempt of a step");
/// let other = Context { step_id: Some("user".into()), ..step(1) };
/// assert_ne!(connector_sdk::repeat::token_of(&other).unwrap(), first);
/// assert_eq!(connector_sdk::repeat::token_of(&Context { run_id: None, step_id: None, attempt: 1 }), None);
/// ```
pub fn token_of(context: &Context) -> Option<String> {
    let (run, step) = (context.run_id.as_deref()?, context.step_id.as_deref()?);
    // FNV-1a, twice with different offsets: stable across builds and
    // hosts (unlike std's hasher), 128 bits, no dependency.
    let hash = |offset: u64| {
        let mut hash = offset;
        for byte in run.bytes().chain([0]).chain(step.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash
    };
    Some(format!("{:016x}{:016x}", hash(0xcbf2_9ce4_8422_2325), hash(0x6c62_272e_07bb_0142)))
}

/// [`token_of`] the invocation running now.
pub fn token() -> Option<String> {
    token_of(&crate::invocation())
}

/// Whether an earlier attempt of the step running now may already have
/// done what this one is asked to: it sent a request its service may have
/// carried out, or it never ended. False on a first attempt, and after
/// attempts the service turned away (throttled) or that never reached it:
/// then anything found by the key of what the step creates was there
/// before, and is a real conflict.
///
/// Needs a host implementing contract 0.1.2 or later.
pub fn earlier_effect() -> bool {
    crate::invocation::earlier_effect()
}

/// Creates something once per step. When an earlier attempt of the step
/// may have taken effect (`earlier_effect`, from [`earlier_effect()`]),
/// `find` looks for what it made first (by the token it carries, or by its
/// unique key); otherwise, or if there is none, `create` makes it; and if
/// the service answers that it exists already (`already_exists`), `find`
/// reads it back as the answer, again only after an earlier effect.
///
/// ```
/// use connector_sdk::{Error, repeat::create_once};
/// let exists = |e: &Error| matches!(e, Error::Service(s) if s.code == "AlreadyExists");
/// let found = create_once(true, || Ok(Some("made before")), || Ok("made now"), exists);
/// assert_eq!(found.ok(), Some("made before"));
/// let made = create_once(false, || Ok(Some("never asked")), || Ok("made now"), exists);
/// assert_eq!(made.ok(), Some("made now"));
/// ```
pub fn create_once<T>(
    earlier_effect: bool,
    find: impl Fn() -> Result<Option<T>, Error>,
    create: impl FnOnce() -> Result<T, Error>,
    already_exists: impl Fn(&Error) -> bool,
) -> Result<T, Error> {
    if earlier_effect && let Some(earlier) = find()? {
        return Ok(earlier);
    }
    create_or_read_back(earlier_effect, create, already_exists, find)
}

/// Creates something whose key the service keeps unique, so that creating
/// it again is what tells a repeat: `create`, and if the service answers
/// that it exists already (`already_exists`) after an earlier attempt that
/// may have made it (`earlier_effect`), `find` reads it back as the answer.
/// For a `find` too costly to run on every repeat (a search).
///
/// ```
/// use connector_sdk::{Error, ServiceError, repeat::create_or_read_back};
/// let exists = |e: &Error| matches!(e, Error::Service(s) if s.code == "Exists");
/// let conflict = || Err(Error::Service(ServiceError {
///     code: "Exists".into(), message: String::new(), status: 400, retryable: false }));
/// assert_eq!(create_or_read_back(true, conflict, exists, || Ok(Some("made before"))).ok(), Some("made before"));
/// assert!(create_or_read_back(false, conflict, exists, || Ok(Some("not asked"))).is_err());
/// ```
pub fn create_or_read_back<T>(
    earlier_effect: bool,
    create: impl FnOnce() -> Result<T, Error>,
    already_exists: impl Fn(&Error) -> bool,
    find: impl Fn() -> Result<Option<T>, Error>,
) -> Result<T, Error> {
    match create() {
        Err(error) if earlier_effect && already_exists(&error) => match find()? {
            Some(earlier) => Ok(earlier),
            None => Err(error),
        },
        created => created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServiceError;

    fn service(code: &str) -> Error {
        Error::Service(ServiceError { code: code.into(), message: String::new(), status: 400, retryable: false })
    }

    #[test]
    fn already_exists_on_a_repeat_reads_back_what_the_first_attempt_made() {
        let found = std::cell::Cell::new(false);
        let find = || Ok(if found.get() { Some("the user") } else { None });
        let create = || {
            found.set(true);
            Err(service("UsernameExistsException"))
        };
        let exists = |e: &Error| matches!(e, Error::Service(s) if s.code == "UsernameExistsException");
        assert_eq!(create_once(true, find, create, exists).ok(), Some("the user"));
        // Without an earlier effect, "exists" is a real conflict.
        let conflict = create_once(false, || Ok(Some("x")), || Err(service("UsernameExistsException")), exists);
        assert!(matches!(conflict, Err(Error::Service(_))));
    }
}
