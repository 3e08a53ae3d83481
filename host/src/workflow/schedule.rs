//! Schedules: a stored workflow started on a cron pattern in a time zone.
//!
//! A schedule's state holds when it fires next. Whoever starts its runs
//! first moves that time on, with a compare-and-set on the stored state,
//! so a restart never starts a time twice, and of several nodes sharing a
//! library exactly one starts it. Times that passed while no host was
//! running are reported as missed (the latest is run), or, with
//! `catch_up`, run too (at most [`MAX_CATCH_UP`]).

use anyhow::{Context, bail};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most missed times a catch-up runs; older ones are reported only.
pub const MAX_CATCH_UP: usize = 10;
/// Missed times a schedule's state lists (the count goes on).
pub const MAX_MISSED_LISTED: usize = 20;
/// Occurrences looked at when working out what was missed.
const MAX_WALK: usize = 10_000;

/// When a stored workflow runs, as its owner writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// A cron pattern: five fields (minute hour day month weekday), or six
    /// with seconds first; `@daily` and the like too.
    pub cron: String,
    /// An IANA time zone (`Europe/Berlin`); UTC by default.
    #[serde(default = "utc")]
    pub timezone: String,
    /// The inputs of each run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Value>,
    /// Also run the times missed while no host ran (the latest
    /// [`MAX_CATCH_UP`]), rather than only report them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub catch_up: bool,
}

fn utc() -> String {
    "UTC".to_owned()
}

/// A schedule and where it stands, as a library keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleState {
    pub workflow: String,
    pub schedule: Schedule,
    /// When it fires next (RFC 3339, UTC).
    pub next_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fired_at: Option<String>,
    /// The latest times missed while no host ran (at most
    /// [`MAX_MISSED_LISTED`]), and how many in all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missed: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub missed_total: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What is due of a schedule now: the times to run, and its next state.
#[derive(Debug, PartialEq)]
pub struct Due {
    pub fire: Vec<String>,
    pub next: ScheduleState,
}

impl Schedule {
    fn cron(&self) -> anyhow::Result<Cron> {
        if self.cron.len() > 256 {
            bail!("cron has {} characters; at most 256", self.cron.len());
        }
        CronParser::builder().seconds(Seconds::Optional).build().parse(&self.cron).map_err(|e| {
            anyhow::anyhow!("cron `{}` is not a cron pattern: {e}", crate::escape::escape_untrusted(&self.cron))
        })
    }

    fn zone(&self) -> anyhow::Result<jiff::tz::TimeZone> {
        jiff::tz::TimeZone::get(&self.timezone).map_err(|_| {
            anyhow::anyhow!(
                "timezone `{}` is not an IANA time zone (such as UTC or Europe/Berlin)",
                crate::escape::escape_untrusted(&self.timezone.chars().take(64).collect::<String>())
            )
        })
    }

    /// The first time after `after` the schedule fires.
    pub fn next_after(&self, after: Timestamp) -> anyhow::Result<Timestamp> {
        self.next_with(&self.cron()?, &self.zone()?, after)
    }

    fn next_with(&self, cron: &Cron, zone: &jiff::tz::TimeZone, after: Timestamp) -> anyhow::Result<Timestamp> {
        let next = cron
            .find_next_occurrence(&after.to_zoned(zone.clone()), false)
            .map_err(|e| anyhow::anyhow!("cron `{}` never fires: {e}", crate::escape::escape_untrusted(&self.cron)))?;
        Ok(next.timestamp())
    }

    /// A new schedule's state for `workflow`, first firing after `now`; or
    /// what is wrong with it.
    pub fn start(self, workflow: &str, now: Timestamp) -> anyhow::Result<ScheduleState> {
        let next = self.next_after(now)?;
        Ok(ScheduleState {
            workflow: workflow.to_owned(),
            schedule: self,
            next_at: next.to_string(),
            last_fired_at: None,
            missed: Vec::new(),
            missed_total: 0,
        })
    }
}

impl ScheduleState {
    /// When it fires next.
    pub fn next(&self) -> anyhow::Result<Timestamp> {
        self.next_at.parse().with_context(|| format!("the schedule of `{}` has a broken time", self.workflow))
    }

    /// What is due at `now`, if anything: the latest time due (and, with
    /// `catch_up`, the missed ones before it, up to [`MAX_CATCH_UP`] in
    /// all), the rest reported as missed, and the time after `now` to fire
    /// next.
    pub fn due(&self, now: Timestamp) -> anyhow::Result<Option<Due>> {
        let first = self.next()?;
        if first > now {
            return Ok(None);
        }
        let schedule = &self.schedule;
        let (cron, zone) = (schedule.cron()?, schedule.zone()?);
        let mut times = vec![first];
        let mut walked = 0;
        let mut next = schedule.next_with(&cron, &zone, first)?;
        while next <= now {
            walked += 1;
            if walked >= MAX_WALK {
                // So many missed that listing them would be work without
                // end: go on from now.
                next = schedule.next_with(&cron, &zone, now)?;
                break;
            }
            times.push(next);
            next = schedule.next_with(&cron, &zone, next)?;
        }
        let run = if self.schedule.catch_up { MAX_CATCH_UP.min(times.len()) } else { 1 };
        let missed = &times[..times.len() - run];
        let fire: Vec<String> = times[times.len() - run..].iter().map(Timestamp::to_string).collect();
        let mut state = self.clone();
        state.next_at = next.to_string();
        state.last_fired_at = fire.last().cloned();
        state.missed_total += missed.len() as u64 + (walked >= MAX_WALK) as u64;
        state.missed.extend(missed.iter().map(Timestamp::to_string));
        let excess = state.missed.len().saturating_sub(MAX_MISSED_LISTED);
        state.missed.drain(..excess);
        Ok(Some(Due { fire, next: state }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn schedule(cron: &str, timezone: &str, catch_up: bool) -> Schedule {
        Schedule { cron: cron.into(), timezone: timezone.into(), inputs: None, catch_up }
    }

    #[test]
    fn a_schedule_fires_in_its_time_zone() {
        let nine_berlin = schedule("0 9 * * MON-FRI", "Europe/Berlin", false);
        // Friday 2026-12-04 10:00 UTC is 11:00 in Berlin: next is Monday 09:00 CET = 08:00 UTC.
        assert_eq!(nine_berlin.next_after(at("2026-12-04T10:00:00Z")).unwrap(), at("2026-12-07T08:00:00Z"));
        let every_second = schedule("* * * * * *", "UTC", false);
        assert_eq!(every_second.next_after(at("2026-12-04T10:00:00Z")).unwrap(), at("2026-12-04T10:00:01Z"));
    }

    #[test]
    fn missed_times_are_reported_or_caught_up() {
        let hourly = schedule("0 * * * *", "UTC", false).start("w", at("2026-12-04T07:30:00Z")).unwrap();
        assert_eq!(hourly.next_at, "2026-12-04T08:00:00Z");
        assert_eq!(hourly.due(at("2026-12-04T07:59:59Z")).unwrap(), None);
        // Down from 07:30 to 11:10: 08, 09, 10 and 11 passed.
        let due = hourly.due(at("2026-12-04T11:10:00Z")).unwrap().unwrap();
        assert_eq!(due.fire, ["2026-12-04T11:00:00Z"]);
        assert_eq!(due.next.missed, ["2026-12-04T08:00:00Z", "2026-12-04T09:00:00Z", "2026-12-04T10:00:00Z"]);
        assert_eq!((due.next.missed_total, due.next.next_at.as_str()), (3, "2026-12-04T12:00:00Z"));
        let mut catching_up = hourly.clone();
        catching_up.schedule.catch_up = true;
        let due = catching_up.due(at("2026-12-04T11:10:00Z")).unwrap().unwrap();
        assert_eq!(due.fire.len(), 4);
        assert!(due.next.missed.is_empty());
        // Years down: bounded work, the count goes on.
        let per_second = schedule("* * * * * *", "UTC", false).start("w", at("2026-01-01T00:00:00Z")).unwrap();
        let due = per_second.due(at("2026-12-04T00:00:00Z")).unwrap().unwrap();
        assert_eq!(due.next.missed.len(), MAX_MISSED_LISTED);
        assert!(due.next.next_at.as_str() > "2026-12-04T00:00:00Z");
    }

    #[test]
    fn bad_schedules_are_refused_naming_why() {
        let err = |s: Schedule| format!("{:#}", s.start("w", at("2026-12-04T00:00:00Z")).unwrap_err());
        assert!(err(schedule("61 * * * *", "UTC", false)).contains("is not a cron pattern"));
        assert!(err(schedule("0 9 * * *", "Mars/Olympus", false)).contains("is not an IANA time zone"));
        assert!(err(schedule("0 0 30 2 *", "UTC", false)).contains("never fires"));
        assert!(err(schedule(&"*".repeat(300), "UTC", false)).contains("at most 256"));
    }
}
