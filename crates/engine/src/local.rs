//! The provider for what ringform makes itself rather than asks a cloud for: generated secrets
//! (VPN shared keys, the Cassandra superuser password). The value lives only in state, so a
//! read returns what state recorded and there is nothing to adopt after a crash: a secret whose
//! create never reached state is simply generated again, and nothing leaks.

use rand::Rng;
use rand::distr::{Alphabetic, Alphanumeric};
use ringform_core::provider::{
    Applied, BoxFuture, CreateRequest, DeleteRequest, FindRequest, Observed, ProviderError, ProviderResult,
    ReadRequest, ReadResponse, ResourceProvider, UpdateRequest,
};
use ringform_core::schema::ProviderSchema;
use ringform_core::{Address, Attributes, Value};
use ringform_schema::local;

/// Generates secrets from the operating system's entropy (through `rand`'s thread RNG).
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalProvider;

/// Shared keys must suit both clouds: AWS takes 8–64 letters and digits, not starting with 0.
const MIN_LENGTH: i64 = 8;
const MAX_LENGTH: i64 = 64;

impl LocalProvider {
    fn generate(address: &Address, inputs: &Attributes) -> ProviderResult<Applied> {
        if address.kind() != local::GENERATED_SECRET {
            return Err(ProviderError::fatal(format!("{address}: the local provider only generates secrets")));
        }
        let length = inputs.get("length").and_then(Value::as_int).unwrap_or(32);
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
            let message = format!("{address}: length {length} is outside {MIN_LENGTH}..={MAX_LENGTH}");
            return Err(ProviderError::fatal(message));
        }
        let mut rng = rand::rng();
        let first = char::from(rng.sample(Alphabetic));
        let rest = (&mut rng).sample_iter(Alphanumeric).take(length as usize - 1).map(char::from);
        let value: String = std::iter::once(first).chain(rest).collect();
        let outputs = Attributes::from([("value".to_owned(), Value::secret(value.into()))]);
        Ok(Applied { provider_id: address.to_string(), outputs })
    }
}

impl ResourceProvider for LocalProvider {
    fn schema(&self) -> &'static ProviderSchema {
        &local::SCHEMA
    }

    fn create(&self, request: CreateRequest) -> BoxFuture<'_, ProviderResult<Applied>> {
        Box::pin(async move { LocalProvider::generate(&request.address, &request.inputs) })
    }

    /// `length` forces a replace, so an update changes nothing the value depends on.
    fn update(&self, request: UpdateRequest) -> BoxFuture<'_, ProviderResult<Applied>> {
        Box::pin(async move { Ok(Applied { provider_id: request.provider_id, outputs: request.outputs }) })
    }

    fn delete(&self, _: DeleteRequest) -> BoxFuture<'_, ProviderResult<()>> {
        Box::pin(async { Ok(()) })
    }

    fn read(&self, request: ReadRequest) -> BoxFuture<'_, ProviderResult<ReadResponse>> {
        let found = request
            .resources
            .into_iter()
            .map(|t| Observed { address: t.address, provider_id: t.provider_id, inputs: t.inputs, outputs: t.outputs })
            .collect();
        Box::pin(async move { Ok(ReadResponse { found }) })
    }

    fn find(&self, _: FindRequest) -> BoxFuture<'_, ProviderResult<Option<Observed>>> {
        Box::pin(async { Ok(None) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(length: Value) -> ProviderResult<Applied> {
        let address: Address = "generated_secret.vpn/a~b".parse().unwrap();
        let inputs = Attributes::from([("length".to_owned(), length)]);
        LocalProvider::generate(&address, &inputs)
    }

    #[test]
    fn secrets_are_secret_of_the_asked_length_and_start_with_a_letter() {
        let applied = create(Value::Int(32)).unwrap();
        let Some(Value::Secret(value)) = applied.outputs.get("value") else { panic!("{:?}", applied.outputs) };
        let text = value.as_str().unwrap();
        assert_eq!(text.len(), 32);
        assert!(text.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(text.starts_with(|c: char| c.is_ascii_alphabetic()));
        let again = create(Value::Int(32)).unwrap();
        assert_ne!(again.outputs, applied.outputs, "two keys must differ");
    }

    #[test]
    fn lengths_outside_what_clouds_accept_are_refused() {
        for length in [i64::MIN, 0, 7, 65, i64::MAX] {
            assert!(create(Value::Int(length)).is_err(), "{length}");
        }
    }
}
