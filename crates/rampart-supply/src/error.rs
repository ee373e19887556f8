//! One error type; [`ErrorKind`] separates "the input is unusable" from "the input is
//! well-formed and does not verify", which the CLI maps to exit codes 2 and 1.

/// What went wrong, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Malformed or unsupported input: a key, signature or envelope that cannot be read.
    Input,
    /// A private key is encrypted and no passphrase (or the wrong one) was given.
    Passphrase,
    /// Well-formed input that fails a check: a signature that does not verify, a payload
    /// type, predicate type or subject digest that does not match.
    Verification,
}

/// Errors of this crate. Messages never hold private key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The PEM text is malformed (no block, bad base64, bad armour).
    #[error("malformed PEM: {0}")]
    Pem(String),
    /// A PEM block of a kind that is not a key Rampart reads.
    #[error("unsupported PEM block `{label}` ({hint})")]
    PemLabel {
        /// The block's label.
        label: String,
        /// What was expected.
        hint: &'static str,
    },
    /// A key of an algorithm Rampart does not sign or verify with.
    #[error("unsupported key type: {0} (supported: ecdsa-p256, ed25519)")]
    UnknownKeyType(String),
    /// A key structure (PKCS#8, SPKI, SEC1, cosign JSON) that does not parse.
    #[error("malformed key: {0}")]
    Key(String),
    /// The key is encrypted and needs a passphrase.
    #[error("the private key is encrypted: a passphrase is needed")]
    PassphraseNeeded,
    /// Decryption failed: wrong passphrase (or a corrupted file).
    #[error("cannot decrypt the private key: wrong passphrase or corrupted key file")]
    WrongPassphrase,
    /// Key-derivation parameters beyond what Rampart will spend time or memory on.
    #[error("key-derivation parameters out of bounds: {0}")]
    KdfBounds(String),
    /// A signature that is not valid base64 or not a signature encoding.
    #[error("malformed signature: {0}")]
    SignatureEncoding(String),
    /// An input over a size limit.
    #[error("{what} is too large: {size} bytes (limit {limit})")]
    TooLarge {
        /// What was read.
        what: &'static str,
        /// Its size (or the bytes read before giving up).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A malformed DSSE envelope.
    #[error("malformed DSSE envelope: {0}")]
    Envelope(String),
    /// A malformed in-toto statement.
    #[error("malformed in-toto statement: {0}")]
    Statement(String),
    /// A signature that does not verify with the given key(s).
    #[error("signature verification failed: {0}")]
    BadSignature(String),
    /// The envelope's payload type is not the expected one.
    #[error("payload type `{found}` is not `{expected}`")]
    PayloadType {
        /// What the envelope says.
        found: String,
        /// What was required.
        expected: String,
    },
    /// The statement's predicate type is not the expected one.
    #[error("predicate type `{found}` is not `{expected}`")]
    PredicateType {
        /// What the statement says.
        found: String,
        /// What was required.
        expected: String,
    },
    /// No subject of the statement has the artifact's digest.
    #[error("no subject matches the artifact: {0}")]
    SubjectMismatch(String),
    /// I/O while reading a blob.
    #[error("reading {what}: {source}")]
    Io {
        /// What was read.
        what: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::PassphraseNeeded | Error::WrongPassphrase => ErrorKind::Passphrase,
            Error::BadSignature(_)
            | Error::PayloadType { .. }
            | Error::PredicateType { .. }
            | Error::SubjectMismatch(_) => ErrorKind::Verification,
            _ => ErrorKind::Input,
        }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;
