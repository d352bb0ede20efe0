# The release image (.goreleaser.yaml, dockers_v2): the static binary that
# goreleaser built for the target platform, on the same base, user and
# entrypoint as the Dockerfile, which builds from source.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY $TARGETPLATFORM/slipway /slipway
USER 65532:65532
# Webhooks on 8080, /metrics on 9090.
EXPOSE 8080 9090
ENTRYPOINT ["/slipway"]
CMD ["serve", "-c", "/etc/slipway/config.yaml"]
