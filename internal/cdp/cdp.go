// Package cdp is test support: it drives headless Chromium over the Chrome DevTools Protocol
// (a websocket to one page target, commands sent one at a time, events skipped), for the tests
// that check ctxtrail's pages in a real browser. Nothing from the network: Chromium runs with
// its background networking off, its DevTools endpoint on 127.0.0.1, and only loads what the
// test gives it.
package cdp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// Browser is one headless Chromium with one page.
type Browser struct {
	t     *testing.T
	ws    *websocket.Conn
	next  *int
	width int
}

// On returns the browser reporting to t, a subtest's.
func (b *Browser) On(t *testing.T) *Browser { c := *b; c.t = t; return &c }

// Need skips the test without Chromium, and fails it under CI=true.
func Need(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no %s: .ci/run must install chromium", ChromiumPath)
		}
		t.Skipf("no %s (apt-get install chromium)", ChromiumPath)
	}
}

// Start starts Chromium with a page of width x height pixels; the test's cleanup stops it.
func Start(t *testing.T, width, height int) *Browser {
	t.Helper()
	Need(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, ChromiumPath, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--disable-extensions", "--hide-scrollbars", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"--remote-allow-origins=*", fmt.Sprintf("--window-size=%d,%d", width, height),
		"--user-data-dir="+dir, "about:blank")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	// Chromium writes the port it chose, and the browser target's path, to DevToolsActivePort.
	var port string
	deadline := time.Now().Add(30 * time.Second)
	for port == "" {
		if b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort")); err == nil {
			if lines := strings.Split(string(b), "\n"); len(lines) >= 2 && lines[0] != "" {
				port = lines[0]
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromium never wrote DevToolsActivePort:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var targets []struct {
		Type string `json:"type"`
		WS   string `json:"webSocketDebuggerUrl"`
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections() // no keep-alive goroutine outlives the start (goleak)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for {
		resp, err := client.Get("http://127.0.0.1:" + port + "/json/list")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
		}
		if err == nil && len(targets) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no DevTools targets: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var wsURL string
	for _, tg := range targets {
		if tg.Type == "page" {
			wsURL = tg.WS
		}
	}
	ws, err := websocket.Dial(wsURL, "", "http://127.0.0.1/")
	if err != nil {
		t.Fatalf("DevTools websocket %s: %v", wsURL, err)
	}
	ws.MaxPayloadBytes = 64 << 20 // screenshots
	t.Cleanup(func() { ws.Close() })
	b := &Browser{t: t, ws: ws, next: new(int), width: width}
	b.Call("Page.enable", nil)
	b.Call("Runtime.enable", nil)
	b.Call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false})
	return b
}

// Call sends a command and returns its result, failing the test on a protocol error.
func (b *Browser) Call(method string, params any) json.RawMessage {
	b.t.Helper()
	res, err := b.call(method, params)
	if err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
	return res
}

// call sends a command and returns its result or the browser's error; a broken connection
// fails the test.
func (b *Browser) call(method string, params any) (json.RawMessage, error) {
	b.t.Helper()
	*b.next++
	id := *b.next
	if params == nil {
		params = map[string]any{}
	}
	_ = b.ws.SetDeadline(time.Now().Add(30 * time.Second))
	if err := websocket.JSON.Send(b.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
	for {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := websocket.JSON.Receive(b.ws, &msg); err != nil {
			b.t.Fatalf("%s: reading the answer: %v", method, err)
		}
		if msg.ID != id {
			continue // an event, or an answer nobody waits for
		}
		if msg.Error != nil {
			return nil, errors.New(msg.Error.Message)
		}
		return msg.Result, nil
	}
}

// Eval runs a JavaScript expression in the page and decodes its value into out (when not nil).
func (b *Browser) Eval(expr string, out any) {
	b.t.Helper()
	raw := b.Call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		b.t.Fatal(err)
	}
	if res.Exception != nil {
		b.t.Fatalf("evaluating %s: %s %s", expr, res.Exception.Text, res.Exception.Exception.Description)
	}
	if out != nil {
		if err := json.Unmarshal(res.Result.Value, out); err != nil {
			b.t.Fatalf("evaluating %s: decoding %s: %v", expr, res.Result.Value, err)
		}
	}
}

// WaitJS polls a JavaScript expression until it is true: a guard against a hang, not a timing
// assertion.
func (b *Browser) WaitJS(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		// A page that is navigating (a click that follows a link) answers "Inspected target
		// navigated or closed", or has no context yet: ask again.
		raw, err := b.call("Runtime.evaluate", map[string]any{"expression": "!!(" + expr + ")", "returnByValue": true})
		var res struct {
			Result struct {
				Value bool `json:"value"`
			} `json:"result"`
		}
		if err == nil {
			err = json.Unmarshal(raw, &res)
		}
		if err == nil && res.Result.Value {
			return
		}
		if time.Now().After(deadline) {
			if err != nil {
				b.t.Fatalf("waiting for %s (%s): %v", what, expr, err)
			}
			var html string
			b.Eval("document.body ? document.body.innerText.slice(0, 3000) : ''", &html)
			b.t.Fatalf("waiting for %s (%s); the page says:\n%s", what, expr, html)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Navigate loads url and waits until it has loaded.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	b.Call("Page.navigate", map[string]any{"url": url})
	b.WaitJS("the page to load", fmt.Sprintf("location.href === %q && document.readyState === 'complete'", url))
}

// Screenshot returns a PNG of the page, as wide as the window and as tall as the content.
func (b *Browser) Screenshot() []byte {
	b.t.Helper()
	var h float64
	b.Eval("Math.min(document.documentElement.scrollHeight, 4000)", &h)
	raw := b.Call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": b.width, "height": h, "scale": 1}})
	var res struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		b.t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		b.t.Fatal(err)
	}
	return png
}

// ScreenshotEnv, set to 1, makes SaveScreenshot write into the repository's docs; without it
// screenshots go to the test's temporary directory, so CI leaves the tree clean.
const ScreenshotEnv = "CTXTRAIL_UPDATE_SCREENSHOT"

// SaveScreenshot checks that png is a PNG and writes it as name under docsDir when
// CTXTRAIL_UPDATE_SCREENSHOT=1, under t.TempDir() otherwise.
func SaveScreenshot(t *testing.T, docsDir, name string, png []byte) {
	t.Helper()
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("%s: not a PNG", name)
	}
	dir := t.TempDir()
	if os.Getenv(ScreenshotEnv) == "1" {
		dir = docsDir
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes) in %s", name, len(png), dir)
}
