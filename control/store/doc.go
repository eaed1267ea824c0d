// Package store keeps tandem's durable state: accounts, applications, phone
// numbers, call records, the notifications (warnings and errors) recorded on
// calls, SIP domains and credentials. The default implementation is an
// embedded SQLite file (modernc.org/sqlite, no cgo) in WAL mode with
// versioned migrations applied at Open; Store is the interface a PostgreSQL
// implementation would satisfy.
//
// The call path saves call records and notifications through CallWriter,
// which batches both into one transaction per drain of its bounded queues.
// At Open, calls a crash left live are marked failed (ARCHITECTURE.md
// "State").
package store
