//! Cognito's create operations made safe to repeat. When a step of a run
//! runs again after an attempt that may have taken effect (its worker
//! stopped mid-step, or Cognito's answer was a fault or was lost), an
//! operation here finds what the earlier attempt made instead of making
//! it twice, by a key Cognito keeps unique (a user name, a group name) or,
//! for user pools, whose names are not unique, by a tag carrying the
//! step's token (put on every pool a run creates). After attempts that
//! took no effect (throttled, say) it creates as usual, so that a thing
//! of the same key made before the run is a conflict, not taken over.
//!
//! `sign_up` names no pool, only an app client: when a repeat meets its
//! user name taken, the pool is found by that client (a bounded search)
//! and the user read back from it.
//!
//! Not here, so recorded as possibly done twice when repeated:
//! `create_user_pool_client` (client names are not unique, and clients
//! take no tags, so nothing tells an earlier attempt's client from
//! another). `admin_create_user` with `MessageAction: RESEND` sends the
//! invitation again on a repeat: it creates nothing.

use connector_sdk::invocation::Context;
use connector_sdk::repeat::{create_once, create_or_read_back, token_of};
use connector_sdk::{Error, ServiceError};
use serde_json::{Map, Value, json};

use crate::model::SERVICE;

fn call_action(action: &str, signed: bool, body: &Value) -> Result<Value, Error> {
    SERVICE.call_action(action, signed, body)
}

/// The tag a user pool created in a run carries: the step's token.
pub const STEP_TAG: &str = "connector-host:step";

/// How one create operation finds what an earlier attempt made.
pub struct Recovery {
    /// The operation, by its snake_case name.
    pub operation: &'static str,
    /// Service error codes saying the thing exists already.
    exists: &'static [&'static str],
    /// What an earlier attempt made, as the operation would have answered,
    /// from the request `body` (API JSON); `None` when there is none.
    find: fn(&Value, &Context) -> Result<Option<Value>, Error>,
    /// Whether `find` runs before creating again, or only once creating
    /// again says the thing exists (for a costly search).
    find_first: bool,
}

/// Every operation made safe to repeat, by name.
pub static RECOVERIES: &[Recovery] = &[
    Recovery {
        operation: "admin_create_user",
        exists: &["UsernameExistsException"],
        find: find_user,
        find_first: true,
    },
    Recovery { operation: "create_group", exists: &["GroupExistsException"], find: find_group, find_first: true },
    Recovery {
        operation: "create_identity_provider",
        exists: &["DuplicateProviderException"],
        find: find_identity_provider,
        find_first: true,
    },
    Recovery {
        operation: "create_resource_server",
        exists: &["ResourceServerExistsException", "InvalidParameterException"],
        find: find_resource_server,
        find_first: true,
    },
    Recovery { operation: "create_user_pool", exists: &[], find: find_tagged_pool, find_first: true },
    Recovery {
        operation: "create_user_pool_domain",
        exists: &["InvalidParameterException", "ResourceConflictException"],
        find: find_domain,
        find_first: true,
    },
    Recovery { operation: "sign_up", exists: &["UsernameExistsException"], find: find_signed_up, find_first: false },
];

/// The recovery of `operation`, if it has one.
pub fn recovery(operation: &str) -> Option<&'static Recovery> {
    RECOVERIES.iter().find(|r| r.operation == operation)
}

impl Recovery {
    /// Sends `body` with `send`, once per step of `context`'s run;
    /// `earlier_effect` says whether an earlier attempt of the step may
    /// have taken effect.
    pub fn run(
        &self,
        context: &Context,
        earlier_effect: bool,
        mut body: Value,
        send: impl FnOnce(&Value) -> Result<Value, Error>,
    ) -> Result<Value, Error> {
        if self.operation == "admin_create_user" && field(&body, "MessageAction") == "RESEND" {
            return send(&body);
        }
        if self.operation == "create_user_pool"
            && let Some(token) = token_of(context)
            && !tag_pool(&mut body, &token)
            && earlier_effect
        {
            return Err(Error::Internal(format!(
                "cannot tell whether an earlier attempt of this step created the pool: its {MAX_POOL_TAGS} tags \
                 leave no room for the tag `{STEP_TAG}` that would say so"
            )));
        }
        let exists = |error: &Error| matches!(error, Error::Service(e) if self.exists.contains(&e.code.as_str()));
        let find = || (self.find)(&body, context);
        match self.find_first {
            true => create_once(earlier_effect, find, || send(&body), exists),
            false => create_or_read_back(earlier_effect, || send(&body), exists, find),
        }
    }
}

/// Most tags a Cognito user pool takes.
const MAX_POOL_TAGS: usize = 50;

/// Adds the step's token to the tags of the pool `body` creates, if they
/// leave room for it; says whether they did.
fn tag_pool(body: &mut Value, token: &str) -> bool {
    let Value::Object(body) = body else { return false };
    let tags = body.entry("UserPoolTags").or_insert_with(|| Value::Object(Map::new()));
    match tags {
        Value::Object(tags) if tags.len() < MAX_POOL_TAGS || tags.contains_key(STEP_TAG) => {
            tags.insert(STEP_TAG.to_owned(), Value::String(token.to_owned()));
            true
        }
        _ => false,
    }
}

/// `call_action`, with "it does not exist" (one of `missing`) as `None`.
fn lookup(action: &str, body: Value, missing: &[&str]) -> Result<Option<Value>, Error> {
    match call_action(action, true, &body) {
        Ok(found) => Ok(Some(found)),
        Err(Error::Service(ServiceError { code, .. })) if missing.contains(&code.as_str()) => Ok(None),
        Err(error) => Err(error),
    }
}

fn field<'a>(body: &'a Value, name: &str) -> &'a Value {
    body.get(name).unwrap_or(&Value::Null)
}

/// The user `body` creates, as `AdminCreateUser` answers.
fn find_user(body: &Value, _: &Context) -> Result<Option<Value>, Error> {
    let request = json!({"UserPoolId": field(body, "UserPoolId"), "Username": field(body, "Username")});
    let Some(user) = lookup("AdminGetUser", request, &["UserNotFoundException"])? else { return Ok(None) };
    let mut created = Map::new();
    for (from, to) in [
        ("Username", "Username"),
        ("UserAttributes", "Attributes"),
        ("UserCreateDate", "UserCreateDate"),
        ("UserLastModifiedDate", "UserLastModifiedDate"),
        ("Enabled", "Enabled"),
        ("UserStatus", "UserStatus"),
        ("MFAOptions", "MFAOptions"),
    ] {
        if let Some(value) = user.get(from) {
            created.insert(to.to_owned(), value.clone());
        }
    }
    Ok(Some(json!({ "User": created })))
}

/// The group `body` creates, as `CreateGroup` answers (`GetGroup` answers
/// the same).
fn find_group(body: &Value, _: &Context) -> Result<Option<Value>, Error> {
    let request = json!({"UserPoolId": field(body, "UserPoolId"), "GroupName": field(body, "GroupName")});
    lookup("GetGroup", request, &["ResourceNotFoundException"])
}

/// The identity provider `body` creates, as `CreateIdentityProvider`
/// answers.
fn find_identity_provider(body: &Value, _: &Context) -> Result<Option<Value>, Error> {
    let request = json!({"UserPoolId": field(body, "UserPoolId"), "ProviderName": field(body, "ProviderName")});
    lookup("DescribeIdentityProvider", request, &["ResourceNotFoundException"])
}

/// The resource server `body` creates, as `CreateResourceServer` answers.
fn find_resource_server(body: &Value, _: &Context) -> Result<Option<Value>, Error> {
    let request = json!({"UserPoolId": field(body, "UserPoolId"), "Identifier": field(body, "Identifier")});
    lookup("DescribeResourceServer", request, &["ResourceNotFoundException"])
}

/// The domain `body` creates for its pool, as `CreateUserPoolDomain`
/// answers; a domain another pool holds is not it.
fn find_domain(body: &Value, _: &Context) -> Result<Option<Value>, Error> {
    let request = json!({"Domain": field(body, "Domain")});
    let Some(found) = lookup("DescribeUserPoolDomain", request, &["ResourceNotFoundException"])? else {
        return Ok(None);
    };
    let description = field(&found, "DomainDescription");
    if description.get("UserPoolId") != Some(field(body, "UserPoolId")) {
        return Ok(None);
    }
    let mut created = Map::new();
    if let Some(cloudfront) = description.get("CloudFrontDistribution") {
        created.insert("CloudFrontDomain".to_owned(), cloudfront.clone());
    }
    if let Some(version) = description.get("ManagedLoginVersion") {
        created.insert("ManagedLoginVersion".to_owned(), version.clone());
    }
    Ok(Some(Value::Object(created)))
}

/// The user `body` signs up, as `SignUp` answers (without where a code
/// was sent, which only the first answer knew), from the pool of its app
/// client.
fn find_signed_up(body: &Value, _: &Context) -> Result<Option<Value>, Error> {
    let Some(pool) = pool_of_client(field(body, "ClientId"))? else { return Ok(None) };
    let request = json!({"UserPoolId": pool, "Username": field(body, "Username")});
    let Some(user) = lookup("AdminGetUser", request, &["UserNotFoundException"])? else { return Ok(None) };
    let sub = field(&user, "UserAttributes")
        .as_array()
        .into_iter()
        .flatten()
        .find(|attribute| field(attribute, "Name") == "sub")
        .map(|attribute| field(attribute, "Value").clone());
    let mut answer = json!({"UserConfirmed": field(&user, "UserStatus") == "CONFIRMED"});
    if let Some(sub) = sub {
        answer["UserSub"] = sub;
    }
    Ok(Some(answer))
}

/// Most requests the search for an app client's pool sends; past it, the
/// search fails rather than guess.
const MAX_CLIENT_SEARCH_CALLS: usize = 200;

/// The pool app client `client_id` belongs to: each pool's clients are
/// listed until one has it.
fn pool_of_client(client_id: &Value) -> Result<Option<Value>, Error> {
    let mut calls = 0;
    let mut call = |action: &str, request: &Value| {
        calls += 1;
        if calls > MAX_CLIENT_SEARCH_CALLS {
            return Err(Error::Internal(format!(
                "cannot tell whether an earlier attempt of this step signed the user up: the search for the \
                 app client's pool took more than {MAX_CLIENT_SEARCH_CALLS} requests"
            )));
        }
        call_action(action, true, request)
    };
    let mut pools_next: Option<Value> = None;
    loop {
        let mut request = json!({"MaxResults": 60});
        if let Some(token) = pools_next.take() {
            request["NextToken"] = token;
        }
        let page = call("ListUserPools", &request)?;
        for pool in field(&page, "UserPools").as_array().into_iter().flatten() {
            let mut clients_next: Option<Value> = None;
            loop {
                let mut request = json!({"UserPoolId": field(pool, "Id"), "MaxResults": 60});
                if let Some(token) = clients_next.take() {
                    request["NextToken"] = token;
                }
                let clients = call("ListUserPoolClients", &request)?;
                let mut listed = field(&clients, "UserPoolClients").as_array().into_iter().flatten();
                if listed.any(|client| field(client, "ClientId") == client_id) {
                    return Ok(Some(field(pool, "Id").clone()));
                }
                clients_next = clients.get("NextToken").filter(|t| t.is_string()).cloned();
                if clients_next.is_none() {
                    break;
                }
            }
        }
        pools_next = page.get("NextToken").filter(|t| t.is_string()).cloned();
        if pools_next.is_none() {
            return Ok(None);
        }
    }
}

/// Most pages of pools listed, and most pools of the step's name
/// described, looking for an earlier attempt's: past either, the search
/// fails rather than create a pool that may be a second one.
const MAX_POOL_PAGES: usize = 20;
const MAX_POOLS_DESCRIBED: usize = 20;

/// The pool an earlier attempt of this step made: one of the pools named
/// as `body`'s whose tags carry the step's token, looked for among the
/// newest first.
fn find_tagged_pool(body: &Value, context: &Context) -> Result<Option<Value>, Error> {
    let Some(token) = token_of(context) else { return Ok(None) };
    let name = field(body, "PoolName");
    let mut named: Vec<(f64, Value)> = Vec::new();
    let mut next: Option<Value> = None;
    for _ in 0..MAX_POOL_PAGES {
        let mut request = json!({"MaxResults": 60});
        if let Some(token) = next.take() {
            request["NextToken"] = token;
        }
        let page = call_action("ListUserPools", true, &request)?;
        for pool in field(&page, "UserPools").as_array().into_iter().flatten() {
            if field(pool, "Name") == name {
                let created = field(pool, "CreationDate").as_f64().unwrap_or(0.0);
                named.push((created, field(pool, "Id").clone()));
            }
        }
        next = page.get("NextToken").filter(|t| t.is_string()).cloned();
        if next.is_none() {
            break;
        }
    }
    let listed_all = next.is_none();
    named.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, id) in named.iter().take(MAX_POOLS_DESCRIBED) {
        let described = call_action("DescribeUserPool", true, &json!({"UserPoolId": id}))?;
        let tags = field(field(&described, "UserPool"), "UserPoolTags");
        if tags.get(STEP_TAG).and_then(Value::as_str) == Some(token.as_str()) {
            return Ok(Some(described));
        }
    }
    if !listed_all || named.len() > MAX_POOLS_DESCRIBED {
        return Err(Error::Internal(format!(
            "cannot tell whether an earlier attempt of this step created the pool: looked through {} pools of \
             its name and {} pages of pools without finding it, and there are more",
            named.len().min(MAX_POOLS_DESCRIBED),
            MAX_POOL_PAGES
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_made_in_a_run_carries_its_step_token() {
        let mut body = json!({"PoolName": "P", "UserPoolTags": {"team": "m"}});
        assert!(tag_pool(&mut body, "abc"));
        assert_eq!(body["UserPoolTags"], json!({"team": "m", "connector-host:step": "abc"}));
        let mut bare = json!({"PoolName": "P"});
        assert!(tag_pool(&mut bare, "abc"));
        assert_eq!(bare["UserPoolTags"], json!({"connector-host:step": "abc"}));
    }

    #[test]
    fn a_pool_with_no_room_for_the_tag_is_left_as_asked() {
        let tags: Map<String, Value> = (0..MAX_POOL_TAGS).map(|i| (format!("t{i}"), json!("v"))).collect();
        let mut full = json!({"PoolName": "P", "UserPoolTags": tags});
        let asked = full.clone();
        assert!(!tag_pool(&mut full, "abc"), "Cognito would refuse a 51st tag");
        assert_eq!(full, asked);
    }

    #[test]
    fn every_recovery_names_an_operation() {
        for recovery in RECOVERIES {
            assert!(SERVICE.operation(recovery.operation).is_some(), "{}", recovery.operation);
        }
    }
}
