// chcheck: the client Grafana's ClickHouse data source is built on (clickhouse-go v2, database/sql,
// HTTP protocol) against a ClickHouse HTTP endpoint. Test-only (`make interop-go`).
//
//	chcheck <host:port> <database> <user> <password> <query> [args...]
//
// Pings, runs the query with its arguments bound by the client, and prints each row as a JSON
// object; on failure prints the error on stderr and exits 1.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func main() {
	if len(os.Args) < 6 {
		fmt.Fprintln(os.Stderr, "usage: chcheck <host:port> <database> <user> <password> <query> [args...]")
		os.Exit(2)
	}
	db := clickhouse.OpenDB(&clickhouse.Options{
		Addr:     []string{os.Args[1]},
		Protocol: clickhouse.HTTP,
		Auth:     clickhouse.Auth{Database: os.Args[2], Username: os.Args[3], Password: os.Args[4]},
		// Grafana's data source sends settings like this one as URL parameters.
		Settings: clickhouse.Settings{"max_execution_time": 60},
	})
	defer db.Close()
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
	if err := db.Ping(); err != nil {
		fail("ping", err)
	}
	args := make([]any, 0, len(os.Args)-6)
	for _, a := range os.Args[6:] {
		args = append(args, a)
	}
	rows, err := db.Query(os.Args[5], args...)
	if err != nil {
		fail("query", err)
	}
	defer rows.Close()
	columns, err := rows.Columns()
	if err != nil {
		fail("columns", err)
	}
	for rows.Next() {
		values := make([]any, len(columns))
		targets := make([]any, len(columns))
		for i := range values {
			targets[i] = &values[i]
		}
		if err := rows.Scan(targets...); err != nil {
			fail("scan", err)
		}
		row := map[string]any{}
		for i, c := range columns {
			row[c] = values[i]
		}
		line, err := json.Marshal(row)
		if err != nil {
			fail("json", err)
		}
		fmt.Println(string(line))
	}
	if err := rows.Err(); err != nil {
		fail("rows", err)
	}
}
