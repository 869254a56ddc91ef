//! Integration tests of the contract model against real documents.

mod asyncapi;
mod cases;
mod openapi;
