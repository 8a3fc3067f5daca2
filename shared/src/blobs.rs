//! The S3 adapter: uploaded images, CSV uploads and their error reports.

use crate::aws::Lazy;
use aws_sdk_s3::{
    operation::get_object::GetObjectOutput,
    presigning::PresigningConfig,
    primitives::ByteStream,
    types::{CompletedMultipartUpload, CompletedPart},
    Client,
};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("S3 request failed: {0}")]
    Aws(String),
    /// A conditional read found the object replaced (its ETag no longer the one asked for).
    #[error("the object was replaced")]
    Changed,
}

#[derive(Clone, Debug)]
pub struct Blobs {
    client: Lazy<Client>,
    bucket: String,
}

pub struct Blob {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

/// An object being read: its body, its ETag and its length, as S3 answered the GET.
pub struct Pinned {
    pub body: ByteStream,
    pub etag: Option<String>,
    pub length: Option<u64>,
}

impl Blobs {
    pub fn new(client: Lazy<Client>, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    /// The object, or `None` when there is no such key.
    async fn get_object(
        &self,
        key: &str,
        if_match: Option<&str>,
    ) -> Result<Option<GetObjectOutput>, BlobError> {
        let get = self.client.get_object().bucket(&self.bucket).key(key);
        match get.set_if_match(if_match.map(str::to_owned)).send().await {
            Ok(o) => Ok(Some(o)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => {
                Err(BlobError::Changed)
            }
            Err(e) => Err(s3_error(e)),
        }
    }

    /// The object's body as a stream (never all in memory).
    pub async fn stream(&self, key: &str) -> Result<Option<ByteStream>, BlobError> {
        Ok(self.get_object(key, None).await?.map(|o| o.body))
    }

    /// The object's body as a stream, its ETag and its length — only if its ETag is still
    /// `etag` when one is given ([`BlobError::Changed`] otherwise): every pass over an upload
    /// reads the bytes the first pass checked.
    pub async fn stream_pinned(
        &self,
        key: &str,
        etag: Option<&str>,
    ) -> Result<Option<Pinned>, BlobError> {
        let found = self.get_object(key, etag).await?;
        Ok(found.map(|o| Pinned {
            length: o.content_length.and_then(|n| u64::try_from(n).ok()),
            etag: o.e_tag,
            body: o.body,
        }))
    }

    /// A URL that lets a browser PUT this one object until it expires — of exactly `length`
    /// bytes when one is given (the length is signed: S3 refuses any other).
    pub async fn presign_put(
        &self,
        key: &str,
        valid_for: std::time::Duration,
        length: Option<u64>,
    ) -> Result<String, BlobError> {
        let length = length
            .map(i64::try_from)
            .transpose()
            .map_err(|e| BlobError::Aws(e.to_string()))?;
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .set_content_length(length);
        let req = put
            .presigned(presigning(valid_for)?)
            .await
            .map_err(s3_error)?;
        Ok(req.uri().to_owned())
    }

    /// A URL that lets a browser GET this one object until it expires, as a download.
    pub async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        valid_for: std::time::Duration,
    ) -> Result<String, BlobError> {
        let get = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!(
                "attachment; filename=\"{}\"; filename*=UTF-8''{}",
                filename
                    .replace(['"', '\\'], "_")
                    .chars()
                    .filter(char::is_ascii)
                    .collect::<String>(),
                crate::urls::encode(filename)
            ));
        let req = get
            .presigned(presigning(valid_for)?)
            .await
            .map_err(s3_error)?;
        Ok(req.uri().to_owned())
    }

    pub async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError> {
        let Some(out) = self.get_object(key, None).await? else {
            return Ok(None);
        };
        let content_type = out
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| BlobError::Aws(e.to_string()))?
            .into_bytes()
            .to_vec();
        Ok(Some(Blob {
            bytes,
            content_type,
        }))
    }
}

/// An object written in parts (S3 multipart upload): memory holds one part at a time, whatever
/// the object's size. Parts before the last must be at least 5 MiB (S3's rule). An upload left
/// unfinished (the function died) is removed by the bucket's `AbortIncompleteMultipartUpload`
/// rule.
pub struct Upload {
    client: Client,
    bucket: String,
    key: String,
    id: String,
    parts: Vec<CompletedPart>,
}

impl Blobs {
    pub async fn start_upload(&self, key: &str, content_type: &str) -> Result<Upload, BlobError> {
        let started = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(s3_error)?;
        let id = started
            .upload_id
            .ok_or_else(|| BlobError::Aws("CreateMultipartUpload answered no upload id".into()))?;
        Ok(Upload {
            client: Client::clone(&self.client),
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            id,
            parts: Vec::new(),
        })
    }
}

impl Upload {
    pub async fn part(&mut self, bytes: Vec<u8>) -> Result<(), BlobError> {
        let number = i32::try_from(self.parts.len() + 1)
            .map_err(|_| BlobError::Aws("too many parts".into()))?;
        let sent = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(s3_error)?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(sent.e_tag)
                .build(),
        );
        Ok(())
    }

    /// Makes the object of the parts sent so far (at least one).
    pub async fn complete(self) -> Result<(), BlobError> {
        let parts = CompletedMultipartUpload::builder()
            .set_parts(Some(self.parts))
            .build();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.id)
            .multipart_upload(parts)
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }
}

fn presigning(valid_for: std::time::Duration) -> Result<PresigningConfig, BlobError> {
    PresigningConfig::expires_in(valid_for).map_err(|e| BlobError::Aws(e.to_string()))
}

/// A failed S3 request, with the SDK's whole error context.
fn s3_error(e: impl std::error::Error) -> BlobError {
    BlobError::Aws(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
}
