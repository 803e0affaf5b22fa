package sqlstore

import (
	"bytes"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/verify"
)

func TestEncodeEntry(t *testing.T) {
	base := custody.Entry{V: 1, ID: "0193a4b0-0000-7000-8000-000000000001", Type: custody.EntryAccess, Store: "s",
		Actor: "a", Time: "2026-11-25T09:00:00.123456789Z", Subject: "x", Payload: "sha256-00"}
	withDevice := base
	withDevice.DeviceTime = "2026-11-25T08:59:59Z"
	empty := custody.Entry{}
	odd := base
	odd.Actor = "Ізюм \"quoted\" \\ <tag> \u2028 \x01"
	for _, e := range []custody.Entry{base, withDevice, empty, odd} {
		got, err := encodeEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		want, err := verify.Canonical(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("encodeEntry\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzEncodeEntry(f *testing.F) {
	f.Add(1, "id", "type", "store", "actor", "time", "", "subject", "sha256-ab")
	f.Add(0, "Ізюм", "\x00", "\"", "\\", "<>&", "\u2028", "\xff", "")
	f.Fuzz(func(t *testing.T, v int, id, typ, store, actor, tm, dev, subject, payload string) {
		e := custody.Entry{V: v, ID: id, Type: typ, Store: store, Actor: actor, Time: tm, DeviceTime: dev, Subject: subject, Payload: custody.Ref(payload)}
		got, err := encodeEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		want, err := verify.Canonical(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("encodeEntry\n got %s\nwant %s", got, want)
		}
	})
}
