import { useEffect, useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Flex, Typography, Upload } from 'antd';
import { CameraOutlined, UploadOutlined } from '@ant-design/icons';
import { ApiError, uploadFile } from '../../api/client';
import { fillPath, useRoute } from '../../api/routes';

/** POST /api/schools/:code/persons/:id/face reply. */
interface EnrolReply {
  descriptorId: string;
  score: number;
  descriptorCount: number;
}

/** Maximum side in pixels of a camera still sent to the server: large enough for the detector, small enough to upload fast. */
const CAPTURE_MAX_SIDE = 1280;

/**
 * Enrol a face photo of a person from a file or the camera. The server rejects a photo
 * without exactly one usable face with a Chinese reason, which is shown as it is.
 * The drawer renders this only for admins and only while the face consent is in force.
 */
export function FaceEnrolment({ schoolCode, personId, faceDescriptors }: { schoolCode: string; personId: string; faceDescriptors: number }) {
  const route = useRoute('POST /api/schools/:code/persons/:id/face');
  const client = useQueryClient();
  const { message } = App.useApp();
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [cameraOn, setCameraOn] = useState(false);
  const [cameraError, setCameraError] = useState<string | null>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const streamRef = useRef<MediaStream | null>(null);

  const stopCamera = () => {
    streamRef.current?.getTracks().forEach((track) => track.stop());
    streamRef.current = null;
    setCameraOn(false);
  };
  // Release the camera when the drawer closes or shows another person.
  useEffect(() => stopCamera, [personId]);

  if (!route.path) return null;

  const enrol = async (file: File) => {
    setBusy(true);
    setRefusal(null);
    try {
      const reply = await uploadFile<EnrolReply>(fillPath(route.path!, { code: schoolCode, id: personId }), 'image', file, () => undefined);
      message.success(`人脸录入成功，已录入 ${reply.descriptorCount} 张`);
      client.invalidateQueries({ queryKey: ['consents', schoolCode, personId] });
    } catch (caught) {
      setRefusal(caught instanceof ApiError ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };

  const startCamera = async () => {
    setCameraError(null);
    if (!navigator.mediaDevices?.getUserMedia) {
      setCameraError('此浏览器不支持摄像头（需要 HTTPS 或本机地址），请改用上传照片');
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'user', width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
      streamRef.current = stream;
      setCameraOn(true);
      // The video element renders after the state change.
      requestAnimationFrame(() => {
        if (videoRef.current) {
          videoRef.current.srcObject = stream;
          void videoRef.current.play().catch(() => undefined);
        }
      });
    } catch (caught) {
      const name = (caught as Error).name;
      setCameraError(name === 'NotAllowedError' ? '未获得摄像头权限，请在浏览器中允许使用摄像头后重试' : '无法打开摄像头，请检查设备后重试，或改用上传照片');
    }
  };

  const capture = async () => {
    const video = videoRef.current;
    if (!video || video.videoWidth === 0) {
      setCameraError('摄像头画面尚未就绪，请稍候再拍');
      return;
    }
    const scale = Math.min(1, CAPTURE_MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext('2d')!.drawImage(video, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.92));
    if (!blob) {
      setCameraError('拍照失败，请重试');
      return;
    }
    stopCamera();
    await enrol(new File([blob], 'camera.jpg', { type: 'image/jpeg' }));
  };

  return (
    <div data-testid="face-enrolment">
      <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>
        已录入 <span data-testid="face-count">{faceDescriptors}</span> 张人脸照片。照片只用于提取特征，服务器不保存原图。
      </Typography.Paragraph>
      <Flex wrap gap={8}>
        <Upload accept="image/jpeg,image/png,image/webp" showUploadList={false} beforeUpload={(file) => (void enrol(file), false)} disabled={busy}>
          <Button icon={<UploadOutlined />} loading={busy} data-testid="face-upload">
            上传照片
          </Button>
        </Upload>
        {cameraOn ? (
          <>
            <Button type="primary" icon={<CameraOutlined />} onClick={() => void capture()} data-testid="face-capture">
              拍照并录入
            </Button>
            <Button onClick={stopCamera}>关闭摄像头</Button>
          </>
        ) : (
          <Button icon={<CameraOutlined />} onClick={() => void startCamera()} disabled={busy}>
            用摄像头拍照
          </Button>
        )}
      </Flex>
      {cameraOn && (
        <video ref={videoRef} muted playsInline data-testid="face-video" style={{ width: '100%', maxWidth: 480, marginTop: 8, background: '#222', borderRadius: 4 }} />
      )}
      {cameraError && <Alert type="warning" showIcon title={cameraError} style={{ marginTop: 8 }} />}
      {refusal && <Alert type="error" showIcon title="照片未通过" description={refusal} style={{ marginTop: 8 }} data-testid="face-refusal" />}
    </div>
  );
}
