//! Values ringform makes itself: generated secrets (VPN shared keys, the Cassandra superuser
//! password), kept only in state.

use ringform_core::schema::{KindSchema, ProviderSchema, input, output, seconds};
use ringform_core::{Kind, Provider};

pub const GENERATED_SECRET: Kind = Kind::new("generated_secret");

pub static SCHEMA: ProviderSchema = ProviderSchema {
    provider: Provider::Local,
    kinds: &[KindSchema::new(GENERATED_SECRET)
        .inputs(&[input("length").required().replaces()])
        .outputs(&[output("value").secret()])
        .takes(seconds(1))],
};
