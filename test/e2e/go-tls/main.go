// A Go HTTPS server and client for the TLS e2e test: Go carries its own TLS (crypto/tls), so
// the agent must read the plaintext from Go's functions, not from OpenSSL.
//
//	go-tls server <addr> <cert.pem> <key.pem> [plain-addr]
//	        HTTPS on addr (and plain HTTP on plain-addr): / is 200, /fail is 500, else 404
//	go-tls client <host:port> <count> <path> [http]
//	        COUNT requests, one at a time on one keep-alive connection (https unless "http");
//	        prints {"<status>": n, ...}
package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go-tls server <addr> <cert> <key> | client <host:port> <count> <path>")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/":
				io.WriteString(w, "ok\n")
			case "/fail":
				w.WriteHeader(500)
				io.WriteString(w, "boom\n")
			default:
				w.WriteHeader(404)
			}
		})
		if len(os.Args) > 5 {
			go func() { fmt.Fprintln(os.Stderr, http.ListenAndServe(os.Args[5], nil)); os.Exit(1) }()
		}
		fmt.Fprintln(os.Stderr, http.ListenAndServeTLS(os.Args[2], os.Args[3], os.Args[4], nil))
		os.Exit(1)
	case "client":
		count, _ := strconv.Atoi(os.Args[3])
		client := &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxConnsPerHost: 1,
			ForceAttemptHTTP2: false, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
		}}
		statuses := map[string]int{}
		for i := 0; i < count; i++ {
			scheme := "https://"
			if len(os.Args) > 5 && os.Args[5] == "http" {
				scheme = "http://"
			}
			req, _ := http.NewRequest("GET", scheme+os.Args[2]+os.Args[4], nil)
			req.Header.Set("traceparent", "00-11112222333344445555666677778888-1111222233334444-01")
			resp, err := client.Do(req)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[strconv.Itoa(resp.StatusCode)]++
		}
		out, _ := json.Marshal(statuses)
		fmt.Println(string(out))
	default:
		os.Exit(2)
	}
}
