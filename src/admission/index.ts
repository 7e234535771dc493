/**
 * The admission layer's public API (pure over validated wire types; I/O only through `ImageLookup`).
 *
 *   parseImageReview(body) / reviewImageReview(review, lookup, policy, opts)        ImagePolicyWebhook
 *   parseAdmissionReview(body) / reviewAdmission(review, lookup, policy, opts)      validating / mutating
 *   ProtocolError                                                                    4xx for unreadable requests
 */
export * from './types.ts';
export {
  parseImageReview,
  reviewImageReview,
  decideImageReview,
  imageReviewResponse,
  imageReviewAnswer,
  type ImageReviewDecided,
  IMAGE_REVIEW_API_VERSION,
  IMAGE_POLICY_ANNOTATION,
  type ImageReview,
  type ImageReviewResponse,
  type ImageReviewResult,
} from './image-review.ts';
export {
  parseAdmissionReview,
  reviewAdmission,
  decideAdmission,
  admissionResponse,
  admissionResponseJson,
  type AdmissionDecided,
  digestPatch,
  pinnedImage,
  ADMISSION_API_VERSIONS,
  type AdmissionReview,
  type AdmissionRequest,
  type AdmissionReviewResponse,
  type AdmissionResponseBody,
  type JsonPatchOp,
} from './admission-review.ts';
export { WORKLOAD_KINDS, workloadKind, extractImages, type WorkloadKind } from './workloads.ts';
export { boundedLookup, thenMaybe, type MaybePromise } from './lookup.ts';
