//! The types of the generated API table (`model.rs`): operations and the
//! shapes of their inputs and outputs, as the Cognito API model defines
//! them.

/// One Cognito API operation.
#[derive(Debug)]
pub struct Operation {
    /// snake_case name, the SDK's method name (`admin_create_user`).
    pub name: &'static str,
    /// The API's name (`AdminCreateUser`), the `X-Amz-Target` suffix.
    pub api_name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// Index of the input structure in `SHAPES`.
    pub input: u16,
    /// Index of the output structure in `SHAPES`, if the action answers
    /// with one.
    pub output: Option<u16>,
    /// False for the operations Cognito accepts without SigV4 (they
    /// authenticate with a token or a secret hash in the body instead).
    pub signed: bool,
    /// Set for listings that return a page of items and a token for the next.
    pub pagination: Option<Pagination>,
}

/// How a listing pages.
#[derive(Debug)]
pub struct Pagination {
    /// API name of the input member that takes the page token.
    pub input_token: &'static str,
    /// API name of the output member that holds the next page's token.
    pub output_token: &'static str,
    /// snake_case name of the page-size input member, if there is one.
    pub limit: Option<&'static str>,
    /// API name of the output member that holds the page's items.
    pub items: &'static str,
}

/// One shape of the API model.
#[derive(Debug)]
pub struct Shape {
    pub kind: Kind,
    /// Lower bound: string length, list or map size, or integer value.
    pub min: Option<i64>,
    /// Upper bound, as `min`.
    pub max: Option<i64>,
    /// The model marks the value as secret (passwords, tokens).
    pub sensitive: bool,
}

/// What kind of value a shape holds. Indices point into `SHAPES`.
#[derive(Debug)]
pub enum Kind {
    Structure(&'static [Member]),
    List {
        item: u16,
    },
    /// A free-form map: its keys are data and pass through untouched.
    Map {
        key: u16,
        value: u16,
    },
    /// A string, limited to `values` when that is not empty.
    String {
        values: &'static [&'static str],
    },
    Integer,
    // The model has no floating-point member, but the generator maps them
    // and the checks handle them.
    #[allow(dead_code)]
    Number,
    Boolean,
    /// Epoch seconds, as a JSON number.
    Timestamp,
    /// Base64 text.
    Blob,
    /// Any JSON value.
    Document,
}

/// One member of a structure.
#[derive(Debug)]
pub struct Member {
    /// snake_case name users write (`user_pool_id`).
    pub name: &'static str,
    /// The API's name sent on the wire (`UserPoolId`).
    pub api_name: &'static str,
    pub shape: u16,
    pub required: bool,
}
