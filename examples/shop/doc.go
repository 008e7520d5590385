// Package shop is ctxtrail's example: three services that call each other, wired only with
// ctxtrail.
//
//	frontend  GET /checkout?user=ada@example.com&item=book&qty=1&card=4242
//	   └ orders    POST /orders    (SQLite through sqltx: the order and the charge commit together)
//	        └ payments  POST /charge    (card 0000 is declined; card "panic" panics)
//
// Every service serves its live span monitor at /debug/ctxtrail. The demo (examples/demo) runs
// all three in one process on loopback; cmd/shop runs one per process, as docker-compose.yml does.
package shop
