# syntax=docker/dockerfile:1
# slipway's image: a static binary on distroless, running as nonroot.
#   docker build --build-arg VERSION=$(git describe --tags) --build-arg COMMIT=$(git rev-parse --short HEAD) -t slipway .

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# `make static` is the one definition of the release build (CGO_ENABLED=0,
# -trimpath, the version ldflags); a test runs the same target and checks
# the result is a static executable.
RUN make static BIN=/out/slipway VERSION="$VERSION" COMMIT="$COMMIT"

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/slipway /slipway
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/slipway"]
CMD ["serve", "-c", "/etc/slipway/config.yaml"]
