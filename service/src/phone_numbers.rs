//! The number plan: which phone numbers belong to which user (inbound calls to a number
//! ring its user; a user may present its own numbers as caller id), and which numbers of
//! the deployment anyone may present (ACS's "alternate caller id").
//!
//! Numbers are E.164 (`+15551234567`); [`normalize`] accepts `4:+…`, `4:1…`, `+1…`, `1…`.

use std::collections::HashMap;

use parking_lot::Mutex;

use std::sync::Arc;

use crate::protocol::{EndReason, ErrorBody, Identifier};
use crate::store::Store;

/// Normalises a phone number (`+15551234567`, `15551234567`, `4:+1…`, `4:1…`) to E.164 with
/// a `+`; `None` when it is not a phone number.
pub fn normalize(s: &str) -> Option<String> {
    let s = s.trim();
    let raw = if s.starts_with("4:") {
        s.to_string()
    } else {
        format!("4:{s}")
    };
    match Identifier::parse(&raw) {
        Ok(Identifier::PhoneNumber(n)) => Some(n),
        _ => None,
    }
}

#[derive(Default)]
struct Plan {
    /// Number → user id.
    owner: HashMap<String, String>,
    /// Numbers anyone may present as caller id, in the order configured.
    deployment: Vec<String>,
    /// Further numbers a user may present (configured; not assigned to them).
    presentable: HashMap<String, Vec<String>>,
}

/// Assignments of numbers to users, and the deployment's own numbers.
#[derive(Default)]
pub struct NumberPlan {
    plan: Mutex<Plan>,
    /// Where assignments are written before they are answered (none: memory only).
    store: Option<Arc<Store>>,
}

/// Why a number cannot be assigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("'{0}' is not a phone number in E.164 form (+15551234567)")]
    Invalid(String),
    #[error("{0} is assigned to another user")]
    Taken(String),
    #[error("{0} is not assigned to this user")]
    NotAssigned(String),
    #[error("{0}")]
    Store(String),
}

impl NumberPlan {
    /// A plan whose deployment numbers are `deployment` (invalid ones are refused).
    pub fn new(deployment: &[String]) -> Result<Self, NumberError> {
        let mut plan = Plan::default();
        for n in deployment {
            let n = normalize(n).ok_or_else(|| NumberError::Invalid(n.clone()))?;
            if !plan.deployment.contains(&n) {
                plan.deployment.push(n);
            }
        }
        Ok(Self {
            plan: Mutex::new(plan),
            store: None,
        })
    }

    /// Like [`NumberPlan::new`], with the assignments of `store`, which every change is
    /// written to.
    pub fn with_store(deployment: &[String], store: Arc<Store>) -> Result<Self, NumberError> {
        let mut plan = Self::new(deployment)?;
        let stored = store
            .load_numbers()
            .map_err(|e| NumberError::Store(e.to_string()))?;
        plan.plan.get_mut().owner.extend(stored);
        plan.store = Some(store);
        Ok(plan)
    }

    /// Assigns `number` to `user` (idempotent). Returns the normalised number.
    pub fn assign(&self, user: &str, number: &str) -> Result<String, NumberError> {
        let n = normalize(number).ok_or_else(|| NumberError::Invalid(number.to_string()))?;
        let mut plan = self.plan.lock();
        match plan.owner.get(&n) {
            Some(u) if u != user => Err(NumberError::Taken(n)),
            Some(_) => Ok(n),
            None => {
                if let Some(store) = &self.store {
                    store
                        .assign_number(&n, user)
                        .map_err(|e| NumberError::Store(e.to_string()))?;
                }
                plan.owner.insert(n.clone(), user.to_string());
                Ok(n)
            }
        }
    }

    /// Lets `user` present `number` (already normalised by the configuration) as caller id
    /// without owning it.
    pub fn allow_caller_id(&self, user: &str, number: &str) {
        let mut plan = self.plan.lock();
        let list = plan.presentable.entry(user.to_string()).or_default();
        if !list.iter().any(|n| n == number) {
            list.push(number.to_string());
        }
    }

    /// Takes `number` away from `user`.
    pub fn unassign(&self, user: &str, number: &str) -> Result<(), NumberError> {
        let n = normalize(number).ok_or_else(|| NumberError::Invalid(number.to_string()))?;
        let mut plan = self.plan.lock();
        if plan.owner.get(&n).map(String::as_str) != Some(user) {
            return Err(NumberError::NotAssigned(n));
        }
        if let Some(store) = &self.store {
            store
                .unassign_number(&n)
                .map_err(|e| NumberError::Store(e.to_string()))?;
        }
        plan.owner.remove(&n);
        Ok(())
    }

    /// Forgets every number of `user` (the identity was deleted: the database dropped them
    /// with it).
    pub fn remove_user(&self, user: &str) {
        self.plan.lock().owner.retain(|_, u| u != user);
    }

    /// The numbers assigned to `user`, sorted.
    pub fn numbers_of(&self, user: &str) -> Vec<String> {
        let plan = self.plan.lock();
        let mut v: Vec<String> = plan
            .owner
            .iter()
            .filter(|(_, u)| *u == user)
            .map(|(n, _)| n.clone())
            .collect();
        v.sort();
        v
    }

    /// The user a number is assigned to.
    pub fn owner_of(&self, number: &str) -> Option<String> {
        let n = normalize(number)?;
        self.plan.lock().owner.get(&n).cloned()
    }

    /// The caller id `user` presents to a phone: `requested` (a raw `4:+…` id or a number)
    /// when the user may present it, else the user's first number, else the deployment's
    /// first number. Refused with a reason when the request is not allowed or there is no
    /// number at all.
    pub fn caller_id_for(&self, user: &str, requested: Option<&str>) -> Result<String, ErrorBody> {
        let plan = self.plan.lock();
        if let Some(r) = requested.filter(|r| !r.trim().is_empty()) {
            let n = normalize(r).ok_or_else(|| {
                ErrorBody::new(
                    EndReason::BAD_REQUEST,
                    format!("caller id '{r}' is not a phone number (4:+15551234567)"),
                )
            })?;
            let own = plan.owner.get(&n).map(String::as_str) == Some(user)
                || plan.presentable.get(user).is_some_and(|l| l.contains(&n));
            if own || plan.deployment.contains(&n) {
                return Ok(n);
            }
            return Err(ErrorBody::new(
                EndReason::FORBIDDEN,
                format!(
                    "caller id {n} is neither assigned to this user nor one of the \
                     deployment's numbers"
                ),
            ));
        }
        let mut own: Vec<&String> = plan
            .owner
            .iter()
            .filter(|(_, u)| *u == user)
            .map(|(n, _)| n)
            .collect();
        own.sort();
        own.first()
            .copied()
            .or(plan.deployment.first())
            .cloned()
            .ok_or_else(|| {
                ErrorBody::new(
                    EndReason::FORBIDDEN,
                    "no caller id: assign a number to this user or configure \
                     --pstn-caller-id",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_numbers() {
        assert_eq!(normalize("+15551234567").as_deref(), Some("+15551234567"));
        assert_eq!(normalize("15551234567").as_deref(), Some("+15551234567"));
        assert_eq!(normalize("4:15551234567").as_deref(), Some("+15551234567"));
        assert_eq!(normalize("4:+15551234567").as_deref(), Some("+15551234567"));
        assert_eq!(normalize("8:acs:x"), None);
        assert_eq!(normalize("alice"), None);
        assert_eq!(normalize(""), None);
    }

    #[test]
    fn assignment_and_caller_ids() {
        let plan = NumberPlan::new(&["+15550000000".into()]).unwrap();
        assert!(NumberPlan::new(&["nope".into()]).is_err());
        assert_eq!(plan.assign("u1", "4:15551110000").unwrap(), "+15551110000");
        assert_eq!(
            plan.assign("u2", "+15551110000"),
            Err(NumberError::Taken("+15551110000".into()))
        );
        assert_eq!(plan.owner_of("15551110000").as_deref(), Some("u1"));
        assert_eq!(plan.numbers_of("u1"), vec!["+15551110000".to_string()]);
        // Own number first, then the deployment's.
        assert_eq!(plan.caller_id_for("u1", None).unwrap(), "+15551110000");
        assert_eq!(plan.caller_id_for("u2", None).unwrap(), "+15550000000");
        assert_eq!(
            plan.caller_id_for("u2", Some("4:+15550000000")).unwrap(),
            "+15550000000"
        );
        let e = plan
            .caller_id_for("u2", Some("4:+15551110000"))
            .unwrap_err();
        assert_eq!(e.reason(), EndReason::FORBIDDEN);
        let e = plan.caller_id_for("u2", Some("8:acs:x")).unwrap_err();
        assert_eq!(e.reason(), EndReason::BAD_REQUEST);
        assert!(plan.unassign("u2", "+15551110000").is_err());
        plan.unassign("u1", "+15551110000").unwrap();
        assert_eq!(plan.owner_of("+15551110000"), None);
        let empty = NumberPlan::new(&[]).unwrap();
        assert_eq!(
            empty.caller_id_for("u", None).unwrap_err().reason(),
            EndReason::FORBIDDEN
        );
        plan.assign("u3", "+15552220000").unwrap();
        plan.remove_user("u3");
        assert_eq!(plan.owner_of("+15552220000"), None);
        // A number the configuration lets one user present, without owning it.
        plan.allow_caller_id("u2", "+15551119999");
        assert_eq!(
            plan.caller_id_for("u2", Some("4:+15551119999")).unwrap(),
            "+15551119999"
        );
        assert_eq!(
            plan.caller_id_for("u1", Some("+15551119999"))
                .unwrap_err()
                .reason(),
            EndReason::FORBIDDEN
        );
        assert_eq!(plan.owner_of("+15551119999"), None);
    }
}
