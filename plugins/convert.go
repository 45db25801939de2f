package plugins

import (
	"google.golang.org/protobuf/types/known/durationpb"

	backendv1 "github.com/docstrange/mesh/plugins/proto/v1"
)

// Conversions between the Go types of the contract and proto/v1. Unknown
// enum values map to the zero value, never to an error: a newer peer may
// send values an older one does not know.

func infoToProto(i Info) *backendv1.InfoResponse {
	resp := &backendv1.InfoResponse{
		Name:        i.Name,
		Version:     i.Version,
		Tasks:       i.Tasks,
		ApiVersions: i.APIVersions,
		Providers: &backendv1.ExecutionProviders{
			Requested: i.Providers.Requested,
			Active:    i.Providers.Active,
			Reason:    i.Providers.Reason,
		},
		Session: &backendv1.SessionSettings{
			IntraOpThreads:    int32(i.Session.IntraOpThreads),
			InterOpThreads:    int32(i.Session.InterOpThreads),
			GraphOptimization: i.Session.GraphOptimization,
			MaxBatchSize:      int32(i.Session.MaxBatchSize),
			Extra:             i.Session.Extra,
		},
	}
	for _, m := range i.Models {
		resp.Models = append(resp.Models, &backendv1.Model{Name: m.Name, Version: m.Version, Sha256: m.SHA256})
	}
	return resp
}

func infoFromProto(r *backendv1.InfoResponse) Info {
	i := Info{
		Name:        r.GetName(),
		Version:     r.GetVersion(),
		Tasks:       r.GetTasks(),
		APIVersions: r.GetApiVersions(),
		Providers: Providers{
			Requested: r.GetProviders().GetRequested(),
			Active:    r.GetProviders().GetActive(),
			Reason:    r.GetProviders().GetReason(),
		},
		Session: Session{
			IntraOpThreads:    int(r.GetSession().GetIntraOpThreads()),
			InterOpThreads:    int(r.GetSession().GetInterOpThreads()),
			GraphOptimization: r.GetSession().GetGraphOptimization(),
			MaxBatchSize:      int(r.GetSession().GetMaxBatchSize()),
			Extra:             r.GetSession().GetExtra(),
		},
	}
	for _, m := range r.GetModels() {
		i.Models = append(i.Models, Model{Name: m.GetName(), Version: m.GetVersion(), SHA256: m.GetSha256()})
	}
	return i
}

func healthStatusToProto(s HealthStatus) backendv1.HealthStatus {
	switch s {
	case HealthServing:
		return backendv1.HealthStatus_HEALTH_STATUS_SERVING
	case HealthDegraded:
		return backendv1.HealthStatus_HEALTH_STATUS_DEGRADED
	case HealthNotServing:
		return backendv1.HealthStatus_HEALTH_STATUS_NOT_SERVING
	default:
		return backendv1.HealthStatus_HEALTH_STATUS_UNSPECIFIED
	}
}

func healthStatusFromProto(s backendv1.HealthStatus) HealthStatus {
	switch s {
	case backendv1.HealthStatus_HEALTH_STATUS_SERVING:
		return HealthServing
	case backendv1.HealthStatus_HEALTH_STATUS_DEGRADED:
		return HealthDegraded
	case backendv1.HealthStatus_HEALTH_STATUS_NOT_SERVING:
		return HealthNotServing
	default:
		return HealthUnknown
	}
}

func imageFormatToProto(f ImageFormat) backendv1.ImageFormat {
	switch f {
	case ImagePNG:
		return backendv1.ImageFormat_IMAGE_FORMAT_PNG
	case ImageRGBA:
		return backendv1.ImageFormat_IMAGE_FORMAT_RGBA
	case ImageGray:
		return backendv1.ImageFormat_IMAGE_FORMAT_GRAY
	default:
		return backendv1.ImageFormat_IMAGE_FORMAT_UNSPECIFIED
	}
}

func imageFormatFromProto(f backendv1.ImageFormat) ImageFormat {
	switch f {
	case backendv1.ImageFormat_IMAGE_FORMAT_PNG:
		return ImagePNG
	case backendv1.ImageFormat_IMAGE_FORMAT_RGBA:
		return ImageRGBA
	case backendv1.ImageFormat_IMAGE_FORMAT_GRAY:
		return ImageGray
	default:
		return ImageFormatUnspecified
	}
}

func quadToProto(q Quad) *backendv1.Quad {
	pq := &backendv1.Quad{Points: make([]*backendv1.Point, len(q))}
	for i, p := range q {
		pq.Points[i] = &backendv1.Point{X: p.X, Y: p.Y}
	}
	return pq
}

// quadFromProto copies up to four points; missing points stay zero.
func quadFromProto(pq *backendv1.Quad) Quad {
	var q Quad
	for i, p := range pq.GetPoints() {
		if i == len(q) {
			break
		}
		q[i] = Point{X: p.GetX(), Y: p.GetY()}
	}
	return q
}

func processRequestToProto(r *ProcessRequest) *backendv1.ProcessRequest {
	pr := &backendv1.ProcessRequest{
		Task:  r.Task,
		Items: make([]*backendv1.Item, len(r.Items)),
		Options: &backendv1.TaskOptions{
			Languages:     r.Options.Languages,
			MaxDetections: int32(r.Options.MaxDetections),
			MinConfidence: r.Options.MinConfidence,
			Extra:         r.Options.Extra,
		},
	}
	for i, it := range r.Items {
		pi := &backendv1.Item{
			Id: it.ID,
			Image: &backendv1.Image{
				Format: imageFormatToProto(it.Image.Format),
				Data:   it.Image.Data,
				Width:  int32(it.Image.Width),
				Height: int32(it.Image.Height),
			},
		}
		if it.Crop != nil {
			pi.Crop = quadToProto(*it.Crop)
		}
		pr.Items[i] = pi
	}
	return pr
}

func processRequestFromProto(pr *backendv1.ProcessRequest) *ProcessRequest {
	r := &ProcessRequest{
		Task:  pr.GetTask(),
		Items: make([]Item, len(pr.GetItems())),
		Options: Options{
			Languages:     pr.GetOptions().GetLanguages(),
			MaxDetections: int(pr.GetOptions().GetMaxDetections()),
			MinConfidence: pr.GetOptions().GetMinConfidence(),
			Extra:         pr.GetOptions().GetExtra(),
		},
	}
	for i, pi := range pr.GetItems() {
		it := Item{
			ID: pi.GetId(),
			Image: Image{
				Format: imageFormatFromProto(pi.GetImage().GetFormat()),
				Data:   pi.GetImage().GetData(),
				Width:  int(pi.GetImage().GetWidth()),
				Height: int(pi.GetImage().GetHeight()),
			},
		}
		if pi.Crop != nil {
			q := quadFromProto(pi.GetCrop())
			it.Crop = &q
		}
		r.Items[i] = it
	}
	return r
}

func itemResultToProto(r ItemResult) *backendv1.ItemResult {
	pr := &backendv1.ItemResult{
		ItemId: r.ItemID,
		Lines:  make([]*backendv1.Line, len(r.Lines)),
		Timings: &backendv1.Timings{
			Queue:       durationpb.New(r.Timings.Queue),
			Preprocess:  durationpb.New(r.Timings.Preprocess),
			Inference:   durationpb.New(r.Timings.Inference),
			Postprocess: durationpb.New(r.Timings.Postprocess),
		},
	}
	for i, l := range r.Lines {
		pr.Lines[i] = &backendv1.Line{Text: l.Text, Box: quadToProto(l.Box), Confidence: l.Confidence}
	}
	if r.Err != nil {
		pr.Error = &backendv1.ItemError{Code: r.Err.Code, Message: r.Err.Message}
	}
	return pr
}

func itemResultFromProto(pr *backendv1.ItemResult) ItemResult {
	r := ItemResult{
		ItemID: pr.GetItemId(),
		Timings: Timings{
			Queue:       pr.GetTimings().GetQueue().AsDuration(),
			Preprocess:  pr.GetTimings().GetPreprocess().AsDuration(),
			Inference:   pr.GetTimings().GetInference().AsDuration(),
			Postprocess: pr.GetTimings().GetPostprocess().AsDuration(),
		},
	}
	if n := len(pr.GetLines()); n > 0 {
		r.Lines = make([]Line, n)
		for i, l := range pr.GetLines() {
			r.Lines[i] = Line{Text: l.GetText(), Box: quadFromProto(l.GetBox()), Confidence: l.GetConfidence()}
		}
	}
	if e := pr.GetError(); e != nil {
		r.Err = &ItemError{Code: e.GetCode(), Message: e.GetMessage()}
	}
	return r
}
