//! Listings: the connector's own `all_pages` option, which follows the page
//! tokens (`NextToken`, or a key object such as DynamoDB's
//! `LastEvaluatedKey`, whichever the operation uses) and returns every
//! item, up to a bound so a runaway listing stops.

use serde_json::{Map, Value, json};

use super::{Operation, Pagination};
use crate::Error;

/// Input key that asks for every page.
pub const ALL_PAGES: &str = "all_pages";
/// Input key that bounds the number of pages `all_pages` fetches.
pub const MAX_PAGES: &str = "max_pages";
/// Pages fetched at most when the input does not say.
pub const DEFAULT_MAX_PAGES: u64 = 100;
/// Highest `max_pages` accepted.
pub const MAX_PAGES_LIMIT: u64 = 10_000;

/// What the user asked of a listing.
pub struct PageRequest {
    pub all_pages: bool,
    pub max_pages: u64,
}

/// Takes the connector's own paging keys out of `input` (an object), so the
/// rest can be checked against the API shape.
pub fn take_options(op: &Operation, input: &mut Value) -> Result<PageRequest, String> {
    let mut request = PageRequest { all_pages: false, max_pages: DEFAULT_MAX_PAGES };
    let (Some(_), Some(fields)) = (&op.pagination, input.as_object_mut()) else {
        return Ok(request);
    };
    match fields.remove(ALL_PAGES) {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => request.all_pages = b,
        Some(other) => return Err(format!("{ALL_PAGES}: expected true or false, got {other}")),
    }
    match fields.remove(MAX_PAGES) {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_PAGES_LIMIT).contains(&n) => request.max_pages = n,
            _ => {
                return Err(format!("{MAX_PAGES}: expected an integer from 1 to {MAX_PAGES_LIMIT}, got {v}"));
            }
        },
    }
    Ok(request)
}

/// Adds the paging options to a listing's input schema.
pub fn extend_schema(pagination: &Pagination, schema: &mut Value) {
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    properties.insert(
        ALL_PAGES.into(),
        json!({
            "type": "boolean",
            "default": false,
            "description": match pagination.limit {
                Some(limit) => format!(
                    "Connector option: follow {} until the listing ends and return every item in {}, \
                     fetching pages of {} items.",
                    pagination.output_token,
                    pagination.items.join(" and "),
                    limit
                ),
                None => format!(
                    "Connector option: follow {} until the listing ends and return every item in {}.",
                    pagination.output_token,
                    pagination.items.join(" and ")
                ),
            },
        }),
    );
    properties.insert(
        MAX_PAGES.into(),
        json!({
            "type": "integer", "minimum": 1, "maximum": MAX_PAGES_LIMIT, "default": DEFAULT_MAX_PAGES,
            "description": "Connector option: with all_pages, fail rather than fetch more than this many pages.",
        }),
    );
}

/// Calls `fetch` for each page, starting from `body`, and returns the items
/// of every page under the listing's item key, with its totals summed.
pub fn fetch_all(
    pagination: &Pagination,
    mut body: Value,
    max_pages: u64,
    mut fetch: impl FnMut(&Value) -> Result<Value, Error>,
) -> Result<Value, Error> {
    let mut items: Vec<Vec<Value>> = vec![Vec::new(); pagination.items.len()];
    let mut totals = vec![0_i64; pagination.totals.len()];
    for _ in 0..max_pages {
        let mut page = fetch(&body)?;
        for (gathered, name) in items.iter_mut().zip(pagination.items) {
            if let Some(Value::Array(page_items)) = page.get_mut(*name).map(Value::take) {
                gathered.extend(page_items);
            }
        }
        for (total, name) in totals.iter_mut().zip(pagination.totals) {
            *total = total.saturating_add(page.get(*name).and_then(Value::as_i64).unwrap_or(0));
        }
        match page.get_mut(pagination.output_token).map(Value::take) {
            Some(token) if !is_empty(&token) => body[pagination.input_token] = token,
            _ => {
                let mut out = Map::new();
                for (gathered, name) in items.into_iter().zip(pagination.items) {
                    out.insert((*name).to_owned(), Value::Array(gathered));
                }
                for (total, name) in totals.into_iter().zip(pagination.totals) {
                    out.insert((*name).to_owned(), json!(total));
                }
                return Ok(Value::Object(out));
            }
        }
    }
    Err(Error::Internal(format!(
        "the listing did not end within {max_pages} pages ({} items so far); \
         raise {MAX_PAGES} or narrow the listing",
        items.iter().map(Vec::len).sum::<usize>()
    )))
}

/// Whether a page token says there is no next page.
fn is_empty(token: &Value) -> bool {
    match token {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: Pagination = Pagination {
        input_token: "PaginationToken",
        output_token: "PaginationToken",
        limit: Some("limit"),
        items: &["Users"],
        totals: &[],
    };

    #[test]
    fn follows_tokens_and_collects_items() {
        let mut seen = Vec::new();
        let out = fetch_all(&USERS, json!({"UserPoolId": "p"}), 10, |body| {
            seen.push(body.clone());
            Ok(match body.get("PaginationToken").and_then(Value::as_str) {
                None => json!({"Users": [1, 2], "PaginationToken": "t1"}),
                Some("t1") => json!({"Users": [3], "PaginationToken": "t2"}),
                _ => json!({"Users": [4]}),
            })
        })
        .unwrap();
        assert_eq!(out, json!({"Users": [1, 2, 3, 4]}));
        assert_eq!(seen[2], json!({"UserPoolId": "p", "PaginationToken": "t2"}));
    }

    #[test]
    fn stops_at_the_page_bound() {
        let mut calls = 0;
        let err = fetch_all(&USERS, json!({}), 3, |_| {
            calls += 1;
            Ok(json!({"Users": [calls], "PaginationToken": "again"}))
        })
        .unwrap_err();
        assert_eq!(calls, 3);
        assert!(matches!(err, Error::Internal(m) if m.contains("within 3 pages (3 items so far)")));
    }

    #[test]
    fn key_objects_are_tokens_and_totals_add_up() {
        const QUERY: Pagination = Pagination {
            input_token: "ExclusiveStartKey",
            output_token: "LastEvaluatedKey",
            limit: Some("limit"),
            items: &["Items"],
            totals: &["Count"],
        };
        let key = json!({"pk": {"S": "b"}});
        let out = fetch_all(&QUERY, json!({"TableName": "t"}), 10, |body| {
            Ok(match body.get("ExclusiveStartKey") {
                None => json!({"Items": [1, 2], "Count": 2, "LastEvaluatedKey": key}),
                Some(k) if *k == key => json!({"Items": [3], "Count": 1, "LastEvaluatedKey": {}}),
                Some(other) => panic!("unexpected key {other}"),
            })
        })
        .unwrap();
        assert_eq!(out, json!({"Items": [1, 2, 3], "Count": 3}));
    }

    #[test]
    fn every_item_list_is_gathered() {
        const OBJECTS: Pagination = Pagination {
            input_token: "ContinuationToken",
            output_token: "NextContinuationToken",
            limit: Some("max_keys"),
            items: &["Contents", "CommonPrefixes"],
            totals: &[],
        };
        let out = fetch_all(&OBJECTS, json!({"Bucket": "b"}), 10, |body| {
            Ok(match body.get("ContinuationToken") {
                None => json!({"Contents": [{"Key": "a"}], "CommonPrefixes": [{"Prefix": "d/"}], "NextContinuationToken": "t"}),
                Some(_) => json!({"Contents": [{"Key": "b"}]}),
            })
        })
        .unwrap();
        assert_eq!(out, json!({"Contents": [{"Key": "a"}, {"Key": "b"}], "CommonPrefixes": [{"Prefix": "d/"}]}));
    }
}
