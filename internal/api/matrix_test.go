package api_test

import (
	"net/http"
	"testing"

	"github.com/custody-dev/custody"
)

func TestCaseMatrixRoute(t *testing.T) {
	forDialects(t, func(t *testing.T, e *recEnv) {
		inc := e.create("incidents", `{"type":"killing","time":"2022-04","precision":"month","locality":"UA63040090010029555","killed_confirmed":1}`)
		c := e.create("cases", `{"number":"12022220000000001","title":"Killings","charges":[{"crime":"RS 8(2)(a)(i)","support":[{"element":"RS 8(2)(a)(i)/1","source":"`+inc.ID+`","reason":"the incident record"}]}]}`)
		m := decode[custody.CaseMatrix](t, e.send("GET", "/api/v1/cases/"+c.ID+"/matrix", e.investigator, nil).want(t, http.StatusOK, ""))
		if len(m.Charges) != 1 || len(m.Charges[0].Elements) < 3 || m.Charges[0].Elements[0].Gap != custody.GapSingleSource ||
			m.Charges[0].Elements[0].Support[0].SourceKind != "incident" {
			t.Errorf("matrix = %+v", m)
		}
		e.send("GET", "/api/v1/cases/"+inc.ID+"/matrix", e.investigator, nil).want(t, http.StatusBadRequest, custody.EINVALID)
		e.send("GET", "/api/v1/cases/0193a4b0-0000-7000-8000-000000000001/matrix", e.investigator, nil).want(t, http.StatusNotFound, custody.ENOTFOUND)
		e.send("POST", "/api/v1/cases", e.investigator, `{"number":"1","title":"T","charges":[{"crime":"RS 9(1)"}]}`).want(t, http.StatusBadRequest, custody.EINVALID)
	})
}
