package custody

import (
	"context"
	"io"
)

// Item kinds.
const (
	KindDigital  = "digital"  // a file: photo, video, audio, document
	KindPhysical = "physical" // a bullet, a rope, a document on paper; may have a photo blob
)

// Item is one piece of evidence. Its fields are set at intake and never
// change; custody events change Holder, Seal and Location, which the index
// keeps current.
type Item struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	Blob        Ref      `json:"blob,omitempty"`
	Size        int64    `json:"size"`
	MediaType   string   `json:"media_type,omitempty"`
	Name        string   `json:"name,omitempty"` // original file name, sanitised
	Case        string   `json:"case,omitempty"`
	Collector   string   `json:"collector,omitempty"`
	CollectedAt string   `json:"collected_at,omitempty"` // RFC 3339 as given
	Lat         *float64 `json:"lat,omitempty"`
	Lon         *float64 `json:"lon,omitempty"`
	Description string   `json:"description,omitempty"`
	Seal        string   `json:"seal,omitempty"`
	Location    string   `json:"location,omitempty"` // storage location of a physical item
	// Capture is the metadata read from the file's own headers (EXIF, MP4),
	// as JSON; see internal/capture.
	Capture RawJSON `json:"capture,omitempty"`
	// Duplicate is true when the same content was already in the store
	// (another item points at the same blob).
	Duplicate bool `json:"duplicate,omitempty"`
	// Compartments are the cases and teams (record IDs) the item is put in
	// at intake; cases that list the item add theirs.
	Compartments []string `json:"compartments,omitempty"`

	IngestedBy string `json:"ingested_by"` // user ID
	IngestedAt string `json:"ingested_at"` // store clock, TimeFormat
	DeviceTime string `json:"device_time,omitempty"`
	Store      string `json:"store"`

	// Index fields: derived from the log, not part of the intake payload.
	Holder   string `json:"holder,omitempty"`
	LogIndex uint64 `json:"log_index,omitempty"` // never 0 for an item: entry 0 is store.init
}

// Event is one link of an item's chain of custody.
type Event struct {
	ID       string `json:"id"` // the entry ID
	Item     string `json:"item"`
	Type     string `json:"type"` // intake, handover, access, export
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Seal     string `json:"seal,omitempty"`
	Location string `json:"location,omitempty"`
	Actor    string `json:"actor"`
	Time     string `json:"time"`
	LogIndex uint64 `json:"log_index"`
}

// IntakeRequest is what an investigator submits with a file.
type IntakeRequest struct {
	Name        string // original file name (will be sanitised)
	Kind        string // KindDigital (default) or KindPhysical
	Case        string
	Collector   string
	CollectedAt string // RFC 3339
	Lat, Lon    *float64
	Description string
	Seal        string
	Location    string
	DeviceTime  string // RFC 3339, the client's clock
	// Compartments: cases and teams (record IDs); when empty, the
	// collector's teams.
	Compartments []string
	// Content is the file; nil for a physical item without a photo.
	Content io.Reader
}

// HandoverRequest moves an item to a new holder.
type HandoverRequest struct {
	Item       string
	To         string
	Reason     string
	Seal       string
	Location   string
	DeviceTime string
}

// ItemFilter selects items for a list.
type ItemFilter struct {
	Case  string
	Blob  Ref
	After string // cursor: item ID to start after
	Limit int
}

// ItemService is the evidence intake and chain of custody.
type ItemService interface {
	// Intake stores the content and records the item. Errors: EINVALID,
	// ENOSPACE, EFORBIDDEN.
	Intake(ctx context.Context, actor *User, req IntakeRequest) (*Item, error)
	// Item returns one item. Errors: ENOTFOUND.
	Item(ctx context.Context, actor *User, id string) (*Item, error)
	// Items lists items in ID (intake) order.
	Items(ctx context.Context, actor *User, f ItemFilter) ([]*Item, error)
	// Handover records a custody transfer. Errors: EINVALID, ENOTFOUND.
	Handover(ctx context.Context, actor *User, req HandoverRequest) (*Event, error)
	// History returns the item's chain of custody in log order. Errors: ENOTFOUND.
	History(ctx context.Context, actor *User, id string) ([]*Event, error)
}
