package cli

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"

	"github.com/custody-dev/custody"
)

// cmdDemo creates (or reuses) a store holding a small, clearly synthetic
// evidence set, then serves it. Nothing in it is real: names are roles,
// images are generated.
func (m *Main) cmdDemo(ctx context.Context, args []string) error {
	fs, data, _ := m.flags("demo", "[--data DIR] [--addr 127.0.0.1:8080]")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var st *store
	var token string
	if _, err := os.Stat(filepath.Join(*data, configName)); err == nil {
		if st, err = m.open(ctx, *data); err != nil {
			return err
		}
		if token, err = st.svc.NewToken(ctx, custody.SystemActor, "demo"); err != nil {
			st.Close()
			return err
		}
	} else {
		var err error
		if st, err = initStore(ctx, *data, "", "", "Custody demo (synthetic data)", m.Now, m.logger()); err != nil {
			return err
		}
		if token, err = m.seedDemo(ctx, st); err != nil {
			st.Close()
			return err
		}
	}
	defer st.Close()
	fmt.Fprintf(m.Stdout, "Custody demo store in %s (synthetic data only)\n  API:        http://%s/api/v1/items\n  public log: http://%s/log/checkpoint\n  user: demo (investigator)  token: %s\n  try: curl -H 'Authorization: Bearer %s' http://%s/api/v1/items\n",
		*data, *addr, *addr, token, token, *addr)
	return m.serve(ctx, st, *addr)
}

func (m *Main) seedDemo(ctx context.Context, st *store) (string, error) {
	svc := st.svc
	admin, _, err := svc.CreateUser(ctx, custody.SystemActor, "admin", custody.RoleAdmin, "")
	if err != nil {
		return "", err
	}
	inv, token, err := svc.CreateUser(ctx, admin, "demo", custody.RoleInvestigator, "")
	if err != nil {
		return "", err
	}
	if _, _, err := svc.CreateUser(ctx, admin, "reviewer", custody.RoleReviewer, ""); err != nil {
		return "", err
	}
	lat, lon := 49.1947, 37.2816 // a forest near Izium (approximate, for the demo)
	for i := 1; i <= 6; i++ {
		img, err := demoJPEG(i)
		if err != nil {
			return "", err
		}
		_, err = svc.Intake(ctx, inv, custody.IntakeRequest{
			Name: fmt.Sprintf("site-A-grave-%03d.jpg", i), Case: "DEMO-2022-001", Collector: "Mobile group 7 (demo)",
			CollectedAt: fmt.Sprintf("2022-09-16T%02d:00:00+03:00", 9+i), Lat: &lat, Lon: &lon,
			Description: fmt.Sprintf("Synthetic photo of numbered cross %d (demo data)", i), Content: bytes.NewReader(img)})
		if err != nil {
			return "", err
		}
	}
	it, err := svc.Intake(ctx, inv, custody.IntakeRequest{Kind: custody.KindPhysical, Case: "DEMO-2022-001",
		Collector: "Mobile group 7 (demo)", Description: "Rope fragment recovered at grave 3 (demo data)", Seal: "DEMO-SEAL-0001",
		Location: "Field kit box 2"})
	if err != nil {
		return "", err
	}
	if _, err := svc.Handover(ctx, inv, custody.HandoverRequest{Item: it.ID, To: "Forensic laboratory, Kharkiv (demo)",
		Reason: "examination", Seal: "DEMO-SEAL-0002", Location: "Laboratory evidence room"}); err != nil {
		return "", err
	}
	if _, err := svc.Publish(ctx); err != nil {
		return "", err
	}
	return token, nil
}

// demoJPEG draws a small, obviously synthetic image.
func demoJPEG(n int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := 0; y < 120; y++ {
		for x := 0; x < 160; x++ {
			img.Set(x, y, color.RGBA{uint8(40 + 20*n), uint8(90 + x/2), uint8(60 + y/2), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
