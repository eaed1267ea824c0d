// Package store keeps tandem's durable state: accounts, applications, phone
// numbers and call records. The default implementation is an embedded SQLite
// file (modernc.org/sqlite, no cgo).
package store
